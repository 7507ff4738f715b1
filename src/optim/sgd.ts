import * as tf from '@tensorflow/tfjs-core';
import { SlotOptimizer } from './slots.js';

export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** `torch.optim.SGD`: weight decay added to the gradient; the first momentum buffer is the gradient itself. */
export class Sgd extends SlotOptimizer {
  readonly kind = 'sgd';

  constructor(readonly options: SgdOptions) {
    super();
  }

  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void {
    const { lr, momentum, weightDecay } = this.options;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (g === undefined) continue;
      tf.tidy(() => {
        let d = weightDecay !== 0 ? tf.add(g, tf.mul(p, weightDecay)) : g;
        if (momentum !== 0) {
          const buf = this.slots.get(name);
          d = buf === undefined ? d : tf.add(tf.mul(buf, momentum), d);
          this.slots.set(name, tf.clone(d));
        }
        p.assign(tf.sub(p, tf.mul(d, lr)));
      });
    }
    this.steps++;
  }
}

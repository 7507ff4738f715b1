import * as tf from '@tensorflow/tfjs-core';
import { SlotOptimizer } from './slots.js';

export interface AdamOptions {
  lr: number;
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** `torch.optim.Adam` (L2 weight decay added to the gradient, bias correction, eps outside the sqrt). */
export class Adam extends SlotOptimizer {
  readonly kind = 'adam';

  constructor(readonly options: AdamOptions) {
    super();
  }

  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void {
    const { lr, weightDecay } = this.options;
    const b1 = this.options.beta1 ?? 0.9;
    const b2 = this.options.beta2 ?? 0.999;
    const eps = this.options.eps ?? 1e-8;
    this.steps++;
    const bc1 = 1 - b1 ** this.steps;
    const bc2 = 1 - b2 ** this.steps;
    for (const [name, p] of params) {
      const g0 = grads.get(name);
      if (g0 === undefined) continue;
      const [m, v] = tf.tidy(() => {
        const g = weightDecay !== 0 ? tf.add(g0, tf.mul(p, weightDecay)) : g0;
        const m0 = this.slots.get(`${name}.exp_avg`);
        const v0 = this.slots.get(`${name}.exp_avg_sq`);
        const m1 = tf.add(m0 === undefined ? tf.zerosLike(g) : tf.mul(m0, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(v0 === undefined ? tf.zerosLike(g) : tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2));
        return [m1, v1];
      });
      tf.tidy(() => p.assign(tf.sub(p, tf.mul(tf.div(m!, tf.add(tf.div(tf.sqrt(v!), Math.sqrt(bc2)), eps)), lr / bc1))));
      this.slots.set(`${name}.exp_avg`, m!);
      this.slots.set(`${name}.exp_avg_sq`, v!);
    }
  }
}

import * as tf from '@tensorflow/tfjs-core';
import type { Optimizer } from '../optim/optimizer.js';

/** Losses of one perturbed step: at w, and at the perturbed point w + delta. */
export interface PerturbedStepResult {
  loss: number;
  lossPerturbed: number;
}

/** Gradient of `lossFn` with respect to the named variables. */
function gradients(lossFn: () => tf.Scalar, params: ReadonlyMap<string, tf.Variable>): { loss: number; grads: Map<string, tf.Tensor> } {
  const names = [...params.keys()];
  const { value, grads } = tf.variableGrads(lossFn, [...params.values()]);
  const byName = new Map<string, tf.Tensor>();
  const vars = [...params.values()];
  names.forEach((n, i) => {
    const g = grads[vars[i]!.name];
    if (g !== undefined) byName.set(n, g);
  });
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, grads: byName };
}

/** Global L2 norm over every gradient. */
function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  return tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
}

/**
 * HarmoFL's client weight perturbation around a base optimizer: gradient g at w;
 * delta = alpha * g / ||g|| (one norm over all trainable parameters); gradient again at w + delta;
 * w restored; base step with the second gradient. alpha = 0 is the base optimizer (one pass).
 */
export class WeightPerturbation {
  constructor(
    readonly base: Optimizer,
    readonly alpha: number,
  ) {}

  /** One training step of `lossFn` over `params`. */
  step(lossFn: () => tf.Scalar, params: ReadonlyMap<string, tf.Variable>): PerturbedStepResult {
    const first = gradients(lossFn, params);
    if (this.alpha === 0) {
      this.base.step(params, first.grads);
      tf.dispose([...first.grads.values()]);
      return { loss: first.loss, lossPerturbed: first.loss };
    }
    const norm = globalNorm(first.grads);
    const scale = norm > 0 ? this.alpha / norm : 0;
    const saved = new Map<string, tf.Tensor>();
    for (const [name, p] of params) {
      const g = first.grads.get(name);
      if (g === undefined) continue;
      saved.set(name, tf.clone(p));
      tf.tidy(() => p.assign(tf.add(p, tf.mul(g, scale))));
    }
    tf.dispose([...first.grads.values()]);
    const second = gradients(lossFn, params);
    for (const [name, w] of saved) params.get(name)!.assign(w);
    tf.dispose([...saved.values()]);
    this.base.step(params, second.grads);
    tf.dispose([...second.grads.values()]);
    return { loss: first.loss, lossPerturbed: second.loss };
  }
}

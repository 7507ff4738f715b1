import * as tf from '@tensorflow/tfjs-core';
import type { Optimizer, OptimizerState } from './optimizer.js';

/** Named per-parameter buffers of an optimizer (momentum, moments), with export/import. */
class Slots {
  readonly map = new Map<string, tf.Variable>();

  get(key: string): tf.Variable | undefined {
    return this.map.get(key);
  }

  /** Sets (or creates) slot `key` to `value`, taking ownership of `value`. */
  set(key: string, value: tf.Tensor): void {
    const slot = this.map.get(key);
    if (slot === undefined) this.map.set(key, tf.variable(value, false));
    else slot.assign(value);
    value.dispose();
  }

  export(): OptimizerState['slots'] {
    const out: OptimizerState['slots'] = {};
    for (const [k, v] of this.map) out[k] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync()) };
    return out;
  }

  import(slots: OptimizerState['slots']): void {
    this.dispose();
    for (const [k, v] of Object.entries(slots)) this.set(k, tf.tensor(v.data, v.shape));
  }

  dispose(): void {
    for (const v of this.map.values()) v.dispose();
    this.map.clear();
  }
}

/** Base of optimizers whose state is a step count plus named slots; subclasses implement `step`. */
export abstract class SlotOptimizer implements Optimizer {
  abstract readonly kind: string;
  protected readonly slots = new Slots();
  protected steps = 0;

  abstract step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void;

  getState(): OptimizerState {
    return { kind: this.kind, step: this.steps, slots: this.slots.export() };
  }

  setState(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new Error(`optimizer state is for ${state.kind}, this optimizer is ${this.kind}`);
    this.steps = state.step;
    this.slots.import(state.slots);
  }

  dispose(): void {
    this.slots.dispose();
  }
}

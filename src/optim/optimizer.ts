import type * as tf from '@tensorflow/tfjs-core';

/** Optimizer state as plain named arrays (momentum buffers, moments, step count), for checkpoints. */
export interface OptimizerState {
  kind: string;
  step: number;
  slots: Record<string, { shape: number[]; data: Float32Array }>;
}

/** A first-order optimizer with PyTorch semantics over named variables. */
export interface Optimizer {
  readonly kind: string;
  /** Applies one update with `grads` (same names as `params`). */
  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>): void;
  getState(): OptimizerState;
  setState(state: OptimizerState): void;
  dispose(): void;
}

import * as tf from '@tensorflow/tfjs-core';

/** A tensor as it crosses a thread or process boundary: shape plus a typed array (never JSON). */
export interface ArrayData {
  shape: number[];
  data: Float32Array;
}

/** Named tensors as plain typed arrays (model state, gradients, optimizer slots). */
export type NamedArrays = Record<string, ArrayData>;

/** Copies named tensors out of the engine. */
export function toNamedArrays(tensors: ReadonlyMap<string, tf.Tensor>): NamedArrays {
  const out: NamedArrays = {};
  for (const [name, t] of tensors) out[name] = { shape: t.shape.slice(), data: Float32Array.from(t.dataSync()) };
  return out;
}

/** Creates tensors from named arrays; the caller owns them. */
export function fromNamedArrays(arrays: NamedArrays): Map<string, tf.Tensor> {
  return new Map(Object.entries(arrays).map(([name, a]) => [name, tf.tensor(a.data, a.shape)]));
}

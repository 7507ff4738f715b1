import * as tf from '@tensorflow/tfjs-core';
import { normalizationControl, type Normalization } from './batch_norm.js';
import type { Model } from './model.js';

/** Running per-channel count, mean and sum of squared deviations (float64), merged batch by batch. */
interface Accumulator {
  count: number;
  mean: Float64Array;
  m2: Float64Array;
}

/**
 * Calibrates a model's non-affine BatchNorm layers: one evaluation pass over `batches` (NHWC
 * inputs as the model takes them, each disposed after its pass) in which every layer normalizes
 * with its batch's statistics, as in training, and records them. Each layer then gets the exact
 * population mean and biased variance of its input over all pixels of the pass: the batches'
 * moments are merged with the parallel-variance formula (Chan et al.), weighted by pixel count, so
 * the result is that of one pass over the whole data in float64. Averaging per-batch variances
 * instead would drop the spread between batch means and weigh a short last batch like a full one.
 * Returns the number of images seen. The normalization mode is left as it was.
 */
export async function calibrate(model: Model, batches: AsyncIterable<tf.Tensor4D> | Iterable<tf.Tensor4D>): Promise<number> {
  const control = normalizationControl(model.params);
  if (control.layers.length === 0)
    throw new Error('this model has no batch-statistics BatchNorm to calibrate (affine BatchNorm keeps its own running statistics)');
  const acc = new Map<string, Accumulator>();
  control.recorder = (layer, mean, variance, count) => {
    let a = acc.get(layer);
    if (a === undefined) {
      a = { count: 0, mean: new Float64Array(mean.length), m2: new Float64Array(mean.length) };
      acc.set(layer, a);
    }
    const total = a.count + count;
    for (let c = 0; c < mean.length; c++) {
      const delta = mean[c]! - a.mean[c]!;
      a.mean[c] = a.mean[c]! + (delta * count) / total;
      a.m2[c] = a.m2[c]! + variance[c]! * count + (delta * delta * a.count * count) / total;
    }
    a.count = total;
  };
  let images = 0;
  try {
    for await (const x of batches) {
      images += x.shape[0];
      tf.dispose(tf.tidy(() => model.forward(x, false)));
      x.dispose();
    }
  } finally {
    control.recorder = undefined;
  }
  if (images === 0) throw new Error('calibration needs at least one image');
  control.statistics.clear();
  for (const [layer, a] of acc)
    control.statistics.set(layer, { mean: Float32Array.from(a.mean), variance: Float32Array.from(a.m2, (m) => m / a.count) });
  return images;
}

/** Whether the model holds calibrated statistics for every non-affine BatchNorm layer. */
export function isCalibrated(model: Model): boolean {
  const control = normalizationControl(model.params);
  return control.layers.length > 0 && control.layers.every((l) => control.statistics.has(l));
}

/** Switches evaluation passes between batch statistics (the reference, default) and calibrated statistics. */
export function setNormalization(model: Model, mode: Normalization): void {
  if (mode === 'calibrated' && !isCalibrated(model))
    throw new Error('calibrated normalization needs calibration statistics: calibrate the model (or load a calibrated model file) first');
  normalizationControl(model.params).mode = mode;
}

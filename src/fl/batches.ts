import * as tf from '@tensorflow/tfjs-core';
import { augment, drawAugmentation } from '../data/augment.js';
import type { Federation } from '../data/manifest.js';

/** What batching needs of a federation: its task and the input scaling of its images. */
export type DataFormat = Pick<Federation, 'task' | 'inputScale'>;
import type { Sample, SampleSource } from '../data/sample.js';
import type { Rng } from '../engine/rng.js';

/** A batch as tensors: NHWC images scaled for the model, and class indices (per image or per pixel). */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor;
  size: number;
}

/** Stacks samples into a batch; images are multiplied by the federation's input scale. */
export function toBatch(samples: Sample[], fed: DataFormat): Batch {
  const { height, width, channels } = samples[0]!.image;
  const plane = height * width * channels;
  const x = new Float32Array(samples.length * plane);
  samples.forEach((s, i) => {
    if (s.image.height !== height || s.image.width !== width || s.image.channels !== channels)
      throw new Error(
        `images of one batch differ in size (${s.image.width}x${s.image.height}x${s.image.channels} vs ${width}x${height}x${channels}); pass a resize`,
      );
    for (let k = 0; k < plane; k++) x[i * plane + k] = s.image.data[k]! * fed.inputScale;
  });
  const xt = tf.tensor4d(x, [samples.length, height, width, channels]);
  if (fed.task === 'classification')
    return {
      x: xt,
      y: tf.tensor1d(
        samples.map((s) => s.label as number),
        'int32',
      ),
      size: samples.length,
    };
  const masks = new Int32Array(samples.length * height * width);
  samples.forEach((s, i) => masks.set(s.label as Uint8Array, i * height * width));
  return { x: xt, y: tf.tensor3d(masks, [samples.length, height, width], 'int32'), size: samples.length };
}

/**
 * Batches of `source` in a seeded order (training) or in order (evaluation), decoded lazily;
 * `augmentWith` applies the reference's rot90/flip augmentation per sample.
 */
export async function* batches(
  source: SampleSource,
  fed: DataFormat,
  batchSize: number,
  order?: Rng,
  augmentWith?: Rng,
): AsyncGenerator<Batch> {
  const idx = Array.from({ length: source.size }, (_, i) => i);
  if (order !== undefined) order.shuffle(idx);
  for (let start = 0; start < idx.length; start += batchSize) {
    const samples = await Promise.all(idx.slice(start, start + batchSize).map((i) => source.get(i)));
    yield toBatch(augmentWith === undefined ? samples : samples.map((s) => augment(s, drawAugmentation(augmentWith))), fed);
  }
}

import * as tf from '@tensorflow/tfjs-core';
import type { Federation } from '../data/manifest.js';
import { Rng } from '../engine/rng.js';
import { loadModel } from '../harmofl/model_file.js';
import type { AmpNormPicture } from './comparison.js';
import { pngDataUri } from './png.js';

/** An H x W x C float image in stored units as a PNG data URI (clamped to 0..255). */
function dataUri(data: ArrayLike<number>, height: number, width: number, channels: number, scale: number): string {
  const bytes = Uint8Array.from({ length: height * width * channels }, (_, i) => Math.max(0, Math.min(255, Math.round(data[i]! * scale))));
  return pngDataUri(bytes, height, width, channels === 1 ? 1 : 3);
}

/** One test image per site, before and after the AmpNorm of the model saved in `modelFile`. */
export async function ampNormPictures(modelFile: string, fed: Federation): Promise<AmpNormPicture[]> {
  const model = await loadModel(modelFile, new Rng(0));
  try {
    const out: AmpNormPicture[] = [];
    for (const site of fed.sites) {
      const source = site.test.size > 0 ? site.test : site.train;
      const { image } = await source.get(0);
      const after = tf.tidy(() => {
        const x = tf.mul(tf.tensor4d(image.data, [1, image.height, image.width, image.channels]), fed.inputScale) as tf.Tensor4D;
        return model.inputNorm.apply(x).dataSync();
      });
      out.push({
        site: site.name,
        before: dataUri(image.data, image.height, image.width, image.channels, 1),
        after: dataUri(after, image.height, image.width, image.channels, 1 / fed.inputScale),
      });
    }
    return out;
  } finally {
    model.dispose();
  }
}

import type { Rng } from '../engine/rng.js';
import type { Image, Sample } from './sample.js';

/** The reference's train-time augmentation: a rotation by k*90 degrees, then (p=0.75) a flip about a random axis. */
export interface Augmentation {
  /** Quarter turns, counter-clockwise as numpy's rot90. */
  k: number;
  flipRows: boolean;
  flipCols: boolean;
}

/** Draws one augmentation as the reference does: k in 0..3, and with probability 0.75 a vertical, horizontal or both-axes flip. */
export function drawAugmentation(rng: Rng): Augmentation {
  const k = rng.int(4);
  if (rng.uniform() >= 0.75) return { k, flipRows: false, flipCols: false };
  const axis = rng.int(3);
  return { k, flipRows: axis !== 1, flipCols: axis !== 0 };
}

/** Applies `aug` to an H x W x C array; returns the new array and its height and width. */
function transformPlane(src: ArrayLike<number>, h: number, w: number, c: number, aug: Augmentation, out: Float32Array | Uint8Array): [number, number] {
  const quarter = ((aug.k % 4) + 4) % 4;
  const [oh, ow] = quarter % 2 === 0 ? [h, w] : [w, h];
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // Output (y, x) after the flip comes from (fy, fx) of the rotated image.
      const fy = aug.flipRows ? oh - 1 - y : y;
      const fx = aug.flipCols ? ow - 1 - x : x;
      // numpy rot90 (counter-clockwise): rotated[i, j] = src[j, w-1-i] for one quarter turn.
      let sy: number;
      let sx: number;
      if (quarter === 0) [sy, sx] = [fy, fx];
      else if (quarter === 1) [sy, sx] = [fx, w - 1 - fy];
      else if (quarter === 2) [sy, sx] = [h - 1 - fy, w - 1 - fx];
      else [sy, sx] = [h - 1 - fx, fy];
      const s = (sy * w + sx) * c;
      const d = (y * ow + x) * c;
      for (let ch = 0; ch < c; ch++) out[d + ch] = src[s + ch]!;
    }
  }
  return [oh, ow];
}

/** Applies one augmentation to an image and, for segmentation, its mask alike. */
export function augment(sample: Sample, aug: Augmentation): Sample {
  const { image } = sample;
  const data = new Float32Array(image.data.length);
  const [height, width] = transformPlane(image.data, image.height, image.width, image.channels, aug, data);
  const out: Image = { data, height, width, channels: image.channels };
  if (typeof sample.label === 'number') return { image: out, label: sample.label };
  const mask = new Uint8Array(sample.label.length);
  transformPlane(sample.label, image.height, image.width, 1, aug, mask);
  return { image: out, label: mask };
}

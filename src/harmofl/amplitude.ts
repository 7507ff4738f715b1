import { Fft2d } from './fft.js';

/** Planar images: `data` holds `count` planes of h x w (NCHW flattened, count = N * C). */
export interface Planes {
  data: ArrayLike<number>;
  count: number;
  h: number;
  w: number;
}

const plans = new Map<string, Fft2d>();
function plan(h: number, w: number): Fft2d {
  const key = `${h}x${w}`;
  let p = plans.get(key);
  if (p === undefined) {
    p = new Fft2d(h, w);
    plans.set(key, p);
  }
  return p;
}

/** The forward 2-D FFTs of a batch's planes, (re, im) in the unshifted layout. */
export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
  count: number;
  h: number;
  w: number;
}

/** Forward 2-D FFT of every plane: computed once, it serves both the batch amplitude and the normalization. */
export function spectrum(planes: Planes): Spectrum {
  const { count, h, w } = planes;
  const re = Float64Array.from(planes.data);
  const im = new Float64Array(re.length);
  const p = plan(h, w);
  for (let i = 0; i < count; i++) p.transform(re, im, i * h * w, false);
  return { re, im, count, h, w };
}

/** |r + i m|: pixel spectra are far from float64's overflow, so the plain root serves (Math.hypot guards against it at 4-5x the time). */
const magnitude = (r: number, m: number): number => Math.sqrt(r * r + m * m);

/** Mean over N of |FFT2| for an NCHW batch with C channels: the [C, H, W] batch amplitude. */
export function meanAmplitude(s: Spectrum, channels: number): Float64Array {
  const { count, h, w, re, im } = s;
  const size = h * w;
  const out = new Float64Array(channels * size);
  const n = count / channels;
  for (let i = 0; i < count; i++) {
    const c = i % channels;
    for (let k = 0; k < size; k++) out[c * size + k] += magnitude(re[i * size + k]!, im[i * size + k]!) / n;
  }
  return out;
}

/**
 * Unshifted indices of the centred (fftshift) low-frequency square of half-width floor(min(H,W)*L).
 * The square is clipped to the image, so L >= 0.5 covers the whole amplitude (the paper's formula).
 */
function lowFrequencyIndices(h: number, w: number, L: number): number[] {
  const b = Math.floor(Math.min(h, w) * L);
  const ch = Math.floor(h / 2);
  const cw = Math.floor(w / 2);
  const idx: number[] = [];
  for (let sy = Math.max(0, ch - b); sy <= Math.min(h - 1, ch + b); sy++) {
    for (let sx = Math.max(0, cw - b); sx <= Math.min(w - 1, cw + b); sx++) {
      // fftshift puts unshifted index k at (k + n/2) mod n.
      const y = (sy - ch + h) % h;
      const x = (sx - cw + w) % w;
      idx.push(y * w + x);
    }
  }
  return idx;
}

/**
 * `utils/amp_utils.normalize` of the reference: each plane's low-frequency amplitude replaced by
 * `ampTarget` (per channel, [C, H, W]), phase kept, inverse FFT, real part. Transforms `s` in
 * place and returns its real part: read anything else from `s` first.
 */
export function normalizeAmplitude(s: Spectrum, channels: number, ampTarget: ArrayLike<number>, L: number): Float64Array {
  const { count, h, w, re, im } = s;
  const size = h * w;
  const idx = lowFrequencyIndices(h, w, L);
  const p = plan(h, w);
  for (let i = 0; i < count; i++) {
    const base = i * size;
    const ampBase = (i % channels) * size;
    for (const k of idx) {
      const a = ampTarget[ampBase + k]!;
      const r = re[base + k]!;
      const m = im[base + k]!;
      const mag = magnitude(r, m);
      // Keep the phase; atan2(0, 0) = 0, so a zero coefficient takes the target with phase 0.
      if (mag > 0) {
        re[base + k] = (r / mag) * a;
        im[base + k] = (m / mag) * a;
      } else {
        re[base + k] = a;
        im[base + k] = 0;
      }
    }
    p.transform(re, im, base, true);
  }
  return re;
}

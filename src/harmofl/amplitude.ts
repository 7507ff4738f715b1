import { Fft2d } from './fft.js';

/** Planar images: `data` holds `count` planes of h x w (NCHW flattened, count = N * C). */
export interface Planes {
  data: ArrayLike<number>;
  count: number;
  h: number;
  w: number;
}

/** A plane size's 2-D FFT and, per unshifted index k, the index of -k (mod h, w): k's conjugate partner in a real plane's spectrum. */
interface Plan {
  fft: Fft2d;
  mirror: Int32Array;
}

const plans = new Map<string, Plan>();
function plan(h: number, w: number): Plan {
  const key = `${h}x${w}`;
  let p = plans.get(key);
  if (p === undefined) {
    const mirror = new Int32Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mirror[y * w + x] = ((h - y) % h) * w + ((w - x) % w);
    p = { fft: new Fft2d(h, w), mirror };
    plans.set(key, p);
  }
  return p;
}

/*
 * The planes are real, so two share one complex transform (half the butterflies): with plane a
 * as the real part and plane b as the imaginary part, Z = A + iB, and A[k] = (Z[k] + conj Z[-k]) / 2,
 * B[k] = (Z[k] - conj Z[-k]) / 2i. Back, the inverse of H(A) + i H(B), where H(X)[k] =
 * (X[k] + conj X[-k]) / 2, is a + ib with a and b the real parts of the inverses of A and B (what
 * the reference keeps): H(X) is the part of X whose inverse is real. An odd plane out pairs with zeros.
 */

/** Offsets (a, b) of the plane pairs that share a transform; b is -1 for an odd plane out. */
function pairOffsets(count: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i += 2) out.push([i * size, i + 1 < count ? (i + 1) * size : -1]);
  return out;
}

/** Replaces Z = A + iB at offset a with A, and writes B at offset b (b < 0: there is no plane b). */
function splitPair(re: Float64Array, im: Float64Array, mirror: Int32Array, a: number, b: number): void {
  for (let k = 0; k < mirror.length; k++) {
    const j = mirror[k]!;
    if (j < k) continue;
    const zr = re[a + k]!;
    const zi = im[a + k]!;
    const yr = re[a + j]!;
    const yi = im[a + j]!;
    re[a + k] = re[a + j] = (zr + yr) / 2;
    im[a + k] = (zi - yi) / 2;
    im[a + j] = (yi - zi) / 2;
    if (b < 0) continue;
    re[b + k] = re[b + j] = (zi + yi) / 2;
    im[b + k] = (yr - zr) / 2;
    im[b + j] = (zr - yr) / 2;
  }
}

/** Replaces the spectrum A at offset a with H(A) + i H(B), B the spectrum at offset b (b < 0: B = 0). */
function joinPair(re: Float64Array, im: Float64Array, mirror: Int32Array, a: number, b: number): void {
  for (let k = 0; k < mirror.length; k++) {
    const j = mirror[k]!;
    if (j < k) continue;
    const ar = (re[a + k]! + re[a + j]!) / 2;
    const ai = (im[a + k]! - im[a + j]!) / 2;
    const br = b < 0 ? 0 : (re[b + k]! + re[b + j]!) / 2;
    const bi = b < 0 ? 0 : (im[b + k]! - im[b + j]!) / 2;
    re[a + k] = ar - bi;
    im[a + k] = ai + br;
    re[a + j] = ar + bi;
    im[a + j] = br - ai;
  }
}

/** The forward 2-D FFTs of a batch's planes, (re, im) in the unshifted layout. */
export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
  count: number;
  h: number;
  w: number;
}

/**
 * Forward 2-D FFT of every plane: computed once, it serves both the batch amplitude and the
 * normalization. `reuse` lends its arrays when they are the right size (its values are
 * overwritten): fresh ones cost their first-touch page faults on every batch, about 19 ms per
 * 7 MB on the 2-vCPU EPYC the bench runs on.
 */
export function spectrum(planes: Planes, reuse?: Spectrum): Spectrum {
  const { count, h, w } = planes;
  const size = h * w;
  const fits = reuse !== undefined && reuse.re.length === count * size;
  const re = fits ? reuse.re : new Float64Array(count * size);
  const im = fits ? reuse.im : new Float64Array(count * size);
  re.set(planes.data);
  const { fft, mirror } = plan(h, w);
  for (const [a, b] of pairOffsets(count, size)) {
    if (b >= 0) im.set(re.subarray(b, b + size), a);
    else im.fill(0, a, a + size);
    fft.transform(re, im, a, false);
    splitPair(re, im, mirror, a, b);
  }
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
  const { fft, mirror } = plan(h, w);
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
  }
  for (const [a, b] of pairOffsets(count, size)) {
    joinPair(re, im, mirror, a, b);
    fft.transform(re, im, a, true);
    if (b >= 0) re.set(im.subarray(a, a + size), b);
  }
  return re;
}

/**
 * Complex FFT of any length, mixed radix (4, 2, 3, 5, then any prime by direct DFT), decimation in
 * time. Written here because the wasm backend has no FFT kernel and the well-kept npm FFTs
 * (fft.js and kin) take powers of two only, while HarmoFL's images are 96 and 384 pixels wide.
 * Float64 throughout: AmpNorm's parity target is 1e-5 absolute.
 */
export class Fft {
  private readonly factors: number[];
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly tmpRe: Float64Array;
  private readonly tmpIm: Float64Array;

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`FFT length must be a positive integer, got ${n}`);
    this.factors = factorize(n);
    this.cos = new Float64Array(n);
    this.sin = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      this.cos[k] = Math.cos((-2 * Math.PI * k) / n);
      this.sin[k] = Math.sin((-2 * Math.PI * k) / n);
    }
    const maxP = Math.max(1, ...this.factors);
    this.tmpRe = new Float64Array(maxP);
    this.tmpIm = new Float64Array(maxP);
  }

  /**
   * Forward transform of `n` elements read from (re, im) at `offset + i * stride`, written to
   * (outRe, outIm) at `outOffset + k * outStride`. Input and output must not overlap.
   */
  forward(re: Float64Array, im: Float64Array, offset: number, stride: number, outRe: Float64Array, outIm: Float64Array): void {
    this.rec(re, im, offset, stride, outRe, outIm, 0, this.n, 0);
  }

  private rec(
    re: Float64Array,
    im: Float64Array,
    inOff: number,
    stride: number,
    oRe: Float64Array,
    oIm: Float64Array,
    oOff: number,
    n: number,
    fi: number,
  ): void {
    const p = this.factors[fi] ?? 1;
    const m = n / p;
    if (m > 1) {
      for (let q = 0; q < p; q++) this.rec(re, im, inOff + q * stride, stride * p, oRe, oIm, oOff + q * m, m, fi + 1);
    } else {
      for (let q = 0; q < p; q++) {
        oRe[oOff + q] = re[inOff + q * stride]!;
        oIm[oOff + q] = im[inOff + q * stride]!;
      }
    }
    if (p === 1) return;
    // Butterflies: out[k + r*m] = sum_q W_n^{qk} W_p^{qr} sub_q[k], with W_n^j = table[j * N / n].
    const N = this.n;
    const step = N / n;
    const pStep = N / p;
    const tRe = this.tmpRe;
    const tIm = this.tmpIm;
    for (let k = 0; k < m; k++) {
      for (let q = 0; q < p; q++) {
        const idx = oOff + q * m + k;
        const w = ((q * k * step) % N) | 0;
        const c = this.cos[w]!;
        const s = this.sin[w]!;
        const xr = oRe[idx]!;
        const xi = oIm[idx]!;
        tRe[q] = xr * c - xi * s;
        tIm[q] = xr * s + xi * c;
      }
      if (p === 2) {
        oRe[oOff + k] = tRe[0]! + tRe[1]!;
        oIm[oOff + k] = tIm[0]! + tIm[1]!;
        oRe[oOff + k + m] = tRe[0]! - tRe[1]!;
        oIm[oOff + k + m] = tIm[0]! - tIm[1]!;
      } else if (p === 4) {
        const ar = tRe[0]! + tRe[2]!,
          ai = tIm[0]! + tIm[2]!;
        const br = tRe[0]! - tRe[2]!,
          bi = tIm[0]! - tIm[2]!;
        const cr = tRe[1]! + tRe[3]!,
          ci = tIm[1]! + tIm[3]!;
        // (t1 - t3) * -i
        const dr = tIm[1]! - tIm[3]!,
          di = tRe[3]! - tRe[1]!;
        oRe[oOff + k] = ar + cr;
        oIm[oOff + k] = ai + ci;
        oRe[oOff + k + m] = br + dr;
        oIm[oOff + k + m] = bi + di;
        oRe[oOff + k + 2 * m] = ar - cr;
        oIm[oOff + k + 2 * m] = ai - ci;
        oRe[oOff + k + 3 * m] = br - dr;
        oIm[oOff + k + 3 * m] = bi - di;
      } else {
        for (let r = 0; r < p; r++) {
          let sr = 0;
          let si = 0;
          for (let q = 0; q < p; q++) {
            const w = ((q * r) % p) * pStep;
            const c = this.cos[w]!;
            const s = this.sin[w]!;
            sr += tRe[q]! * c - tIm[q]! * s;
            si += tRe[q]! * s + tIm[q]! * c;
          }
          oRe[oOff + k + r * m] = sr;
          oIm[oOff + k + r * m] = si;
        }
      }
    }
  }
}

function factorize(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  for (const p of [4, 2, 3, 5]) {
    while (rest % p === 0) {
      out.push(p);
      rest /= p;
    }
  }
  for (let p = 7; rest > 1; p += 2) {
    while (rest % p === 0) {
      out.push(p);
      rest /= p;
    }
  }
  return out;
}

/** 2-D FFT of H x W planes (row-major, complex as two arrays), forward or inverse, in place. */
export class Fft2d {
  private readonly rows: Fft;
  private readonly cols: Fft;
  private readonly lineRe: Float64Array;
  private readonly lineIm: Float64Array;

  constructor(
    readonly h: number,
    readonly w: number,
  ) {
    this.rows = new Fft(w);
    this.cols = new Fft(h);
    this.lineRe = new Float64Array(Math.max(h, w));
    this.lineIm = new Float64Array(Math.max(h, w));
  }

  /** Transforms the plane at `offset` in place; `inverse` applies conjugation and the 1/(HW) scale. */
  transform(re: Float64Array, im: Float64Array, offset: number, inverse: boolean): void {
    const { h, w, lineRe, lineIm } = this;
    const size = h * w;
    if (inverse) for (let i = 0; i < size; i++) im[offset + i] = -im[offset + i]!;
    for (let y = 0; y < h; y++) {
      this.rows.forward(re, im, offset + y * w, 1, lineRe, lineIm);
      re.set(lineRe.subarray(0, w), offset + y * w);
      im.set(lineIm.subarray(0, w), offset + y * w);
    }
    for (let x = 0; x < w; x++) {
      this.cols.forward(re, im, offset + x, w, lineRe, lineIm);
      for (let y = 0; y < h; y++) {
        re[offset + y * w + x] = lineRe[y]!;
        im[offset + y * w + x] = lineIm[y]!;
      }
    }
    if (inverse) {
      for (let i = 0; i < size; i++) {
        re[offset + i] = re[offset + i]! / size;
        im[offset + i] = -im[offset + i]! / size;
      }
    }
  }
}

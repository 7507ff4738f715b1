/**
 * Complex FFT of any length: Stockham autosort, mixed radix (4, 2, 3 with their own butterflies,
 * then 5 and any other prime by direct DFT), decimation in frequency, twiddles tabulated per stage.
 * Written here because the wasm backend has no FFT kernel and the well-kept npm FFTs (fft.js and
 * kin) take powers of two only, while HarmoFL's images are 96 and 384 pixels wide. Float64
 * throughout: AmpNorm's parity target is 1e-5 absolute.
 */
export class Fft {
  private readonly stages: Stage[] = [];
  // Ping-pong buffers: each stage reads one and writes the other, in natural order at the end.
  private readonly bufRe: [Float64Array, Float64Array];
  private readonly bufIm: [Float64Array, Float64Array];

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`FFT length must be a positive integer, got ${n}`);
    let length = n;
    for (const radix of factorize(n)) {
      this.stages.push(stage(length, radix));
      length /= radix;
    }
    this.bufRe = [new Float64Array(n), new Float64Array(n)];
    this.bufIm = [new Float64Array(n), new Float64Array(n)];
  }

  /** Forward transform, in place, of the `n` elements of (re, im) at `offset + i * stride`. */
  forward(re: Float64Array, im: Float64Array, offset: number, stride: number): void {
    const { n, stages, bufRe, bufIm } = this;
    let xRe = bufRe[0];
    let xIm = bufIm[0];
    for (let i = 0; i < n; i++) {
      xRe[i] = re[offset + i * stride]!;
      xIm[i] = im[offset + i * stride]!;
    }
    let s = 1;
    for (let i = 0; i < stages.length; i++) {
      const yRe = bufRe[(i + 1) & 1];
      const yIm = bufIm[(i + 1) & 1];
      butterflies(stages[i]!, s, xRe, xIm, yRe, yIm);
      xRe = yRe;
      xIm = yIm;
      s *= stages[i]!.radix;
    }
    for (let k = 0; k < n; k++) {
      re[offset + k * stride] = xRe[k]!;
      im[offset + k * stride] = xIm[k]!;
    }
  }
}

/** One Stockham stage: sub-transforms of `length` split by `radix`, with w_length^(p r) for p < length / radix, 1 <= r < radix. */
interface Stage {
  length: number;
  radix: number;
  /** Twiddles, [p][r - 1]. */
  cos: Float64Array;
  sin: Float64Array;
  /** w_radix^j, j < radix, for the direct DFT of radices without their own butterfly. */
  rootCos: Float64Array;
  rootSin: Float64Array;
}

function stage(length: number, radix: number): Stage {
  const m = length / radix;
  const cos = new Float64Array(m * (radix - 1));
  const sin = new Float64Array(m * (radix - 1));
  for (let p = 0; p < m; p++)
    for (let r = 1; r < radix; r++) {
      const angle = (-2 * Math.PI * ((p * r) % length)) / length;
      cos[p * (radix - 1) + r - 1] = Math.cos(angle);
      sin[p * (radix - 1) + r - 1] = Math.sin(angle);
    }
  const rootCos = Float64Array.from({ length: radix }, (_, j) => Math.cos((-2 * Math.PI * j) / radix));
  const rootSin = Float64Array.from({ length: radix }, (_, j) => Math.sin((-2 * Math.PI * j) / radix));
  return { length, radix, cos, sin, rootCos, rootSin };
}

const SIN_60 = Math.sqrt(3) / 2;

/**
 * One stage with stride s (s * length = n): for p < m = length / radix and q < s, the radix-point
 * DFT of a_t = x[q + s (p + t m)], output r times w_length^(p r), to y[q + s (radix p + r)].
 */
function butterflies(st: Stage, s: number, xRe: Float64Array, xIm: Float64Array, yRe: Float64Array, yIm: Float64Array): void {
  const { length, radix, cos, sin } = st;
  const m = length / radix;
  const sm = s * m;
  const r1 = radix - 1;
  for (let p = 0; p < m; p++) {
    const tw = p * r1;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const o0 = q + s * radix * p;
      // Every radix reads a0 and a1 (the direct DFT reads them again; it is the rare case).
      const a0r = xRe[i0]!;
      const a0i = xIm[i0]!;
      const a1r = xRe[i0 + sm]!;
      const a1i = xIm[i0 + sm]!;
      if (radix === 4) {
        const a2r = xRe[i0 + 2 * sm]!,
          a2i = xIm[i0 + 2 * sm]!;
        const a3r = xRe[i0 + 3 * sm]!,
          a3i = xIm[i0 + 3 * sm]!;
        const t0r = a0r + a2r,
          t0i = a0i + a2i;
        const t1r = a0r - a2r,
          t1i = a0i - a2i;
        const t2r = a1r + a3r,
          t2i = a1i + a3i;
        const t3r = a1r - a3r,
          t3i = a1i - a3i;
        yRe[o0] = t0r + t2r;
        yIm[o0] = t0i + t2i;
        // y1 = t1 - i t3, y2 = t0 - t2, y3 = t1 + i t3, each times its twiddle.
        rotate(yRe, yIm, o0 + s, t1r + t3i, t1i - t3r, cos[tw]!, sin[tw]!);
        rotate(yRe, yIm, o0 + 2 * s, t0r - t2r, t0i - t2i, cos[tw + 1]!, sin[tw + 1]!);
        rotate(yRe, yIm, o0 + 3 * s, t1r - t3i, t1i + t3r, cos[tw + 2]!, sin[tw + 2]!);
      } else if (radix === 2) {
        yRe[o0] = a0r + a1r;
        yIm[o0] = a0i + a1i;
        rotate(yRe, yIm, o0 + s, a0r - a1r, a0i - a1i, cos[tw]!, sin[tw]!);
      } else if (radix === 3) {
        const a2r = xRe[i0 + 2 * sm]!,
          a2i = xIm[i0 + 2 * sm]!;
        const sr = a1r + a2r,
          si = a1i + a2i;
        const dr = SIN_60 * (a1r - a2r),
          di = SIN_60 * (a1i - a2i);
        const hr = a0r - 0.5 * sr,
          hi = a0i - 0.5 * si;
        yRe[o0] = a0r + sr;
        yIm[o0] = a0i + si;
        // y1 = h - i (sqrt 3 / 2) d, y2 = h + i (sqrt 3 / 2) d.
        rotate(yRe, yIm, o0 + s, hr + di, hi - dr, cos[tw]!, sin[tw]!);
        rotate(yRe, yIm, o0 + 2 * s, hr - di, hi + dr, cos[tw + 1]!, sin[tw + 1]!);
      } else {
        for (let r = 0; r < radix; r++) {
          let accR = 0;
          let accI = 0;
          for (let t = 0; t < radix; t++) {
            const j = (r * t) % radix;
            const c = st.rootCos[j]!,
              sn = st.rootSin[j]!;
            const ar = xRe[i0 + t * sm]!,
              ai = xIm[i0 + t * sm]!;
            accR += ar * c - ai * sn;
            accI += ar * sn + ai * c;
          }
          if (r === 0) {
            yRe[o0] = accR;
            yIm[o0] = accI;
          } else rotate(yRe, yIm, o0 + r * s, accR, accI, cos[tw + r - 1]!, sin[tw + r - 1]!);
        }
      }
    }
  }
}

/** y[i] = (vr + i vi) (c + i s). */
function rotate(yRe: Float64Array, yIm: Float64Array, i: number, vr: number, vi: number, c: number, s: number): void {
  yRe[i] = vr * c - vi * s;
  yIm[i] = vr * s + vi * c;
}

/** n's radices, 4s first (fewest stages), then 2, 3, 5 and any other prime. */
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

  constructor(
    readonly h: number,
    readonly w: number,
  ) {
    this.rows = new Fft(w);
    this.cols = new Fft(h);
  }

  /** Transforms the plane at `offset` in place; `inverse` applies conjugation and the 1/(HW) scale. */
  transform(re: Float64Array, im: Float64Array, offset: number, inverse: boolean): void {
    const { h, w } = this;
    const size = h * w;
    if (inverse) for (let i = 0; i < size; i++) im[offset + i] = -im[offset + i]!;
    for (let y = 0; y < h; y++) this.rows.forward(re, im, offset + y * w, 1);
    for (let x = 0; x < w; x++) this.cols.forward(re, im, offset + x, w);
    if (inverse) {
      for (let i = 0; i < size; i++) {
        re[offset + i] = re[offset + i]! / size;
        im[offset + i] = -im[offset + i]! / size;
      }
    }
  }
}

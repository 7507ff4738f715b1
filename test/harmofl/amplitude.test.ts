import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeAmplitude, spectrum } from '../../src/harmofl/amplitude.js';
import { Rng } from '../../src/engine/rng.js';

/** Direct 2-D DFT of an h x w complex plane (sign -1 forward, +1 inverse without the 1/hw scale). */
function dft2(re: number[], im: number[], h: number, w: number, sign: 1 | -1): { re: number[]; im: number[] } {
  const out = { re: new Array<number>(h * w).fill(0), im: new Array<number>(h * w).fill(0) };
  for (let u = 0; u < h; u++)
    for (let v = 0; v < w; v++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const a = sign * 2 * Math.PI * ((u * y) / h + (v * x) / w);
          const [r, m] = [re[y * w + x]!, im[y * w + x]!];
          out.re[u * w + v]! += r * Math.cos(a) - m * Math.sin(a);
          out.im[u * w + v]! += r * Math.sin(a) + m * Math.cos(a);
        }
  return out;
}

/**
 * Whether unshifted index (u, v) lies in the square of half-width b around fftshift's centre
 * (n / 2 rounded down), clipped to the plane: an offset d from the DC term with
 * -min(b, centre) <= d <= min(b, n - 1 - centre) on both axes, u = d mod h, v = d mod w.
 */
function inSquare(u: number, v: number, h: number, w: number, b: number): boolean {
  const near = (k: number, n: number): boolean => {
    const centre = Math.floor(n / 2);
    return k <= Math.min(b, n - 1 - centre) || (k > 0 && n - k <= Math.min(b, centre));
  };
  return near(u, h) && near(v, w);
}

const SHAPES: Array<[number, number]> = [
  [6, 5],
  [5, 7],
  [4, 4],
];

test('spectrum pairs real planes in one complex FFT and still gives each plane its own DFT, odd and even counts', () => {
  const rng = new Rng(11);
  for (const [h, w] of SHAPES)
    for (const count of [1, 2, 3]) {
      const data = Array.from({ length: count * h * w }, () => rng.normal());
      const s = spectrum({ data, count, h, w });
      for (let i = 0; i < count; i++) {
        const plane = data.slice(i * h * w, (i + 1) * h * w);
        const want = dft2(plane, new Array<number>(h * w).fill(0), h, w, -1);
        for (let k = 0; k < h * w; k++) {
          assert.ok(Math.abs(s.re[i * h * w + k]! - want.re[k]!) < 1e-9, `${h}x${w} count ${count} plane ${i} re[${k}]`);
          assert.ok(Math.abs(s.im[i * h * w + k]! - want.im[k]!) < 1e-9, `${h}x${w} count ${count} plane ${i} im[${k}]`);
        }
      }
    }
});

test('normalizeAmplitude equals the real part of each plane inverse DFT after replacing its low frequencies, with a target not symmetric in k and -k', () => {
  const rng = new Rng(12);
  const channels = 2;
  for (const [h, w] of SHAPES)
    for (const count of [1, 2, 3]) {
      for (const L of [0, 0.3]) {
        const b = Math.floor(Math.min(h, w) * L);
        const data = Array.from({ length: count * h * w }, () => rng.normal());
        // Random amplitudes: |A[k]| != |A[-k]|, so a plane's modified spectrum is not Hermitian.
        const target = Array.from({ length: channels * h * w }, () => 1 + rng.normal() ** 2);
        const out = normalizeAmplitude(spectrum({ data, count, h, w }), channels, target, L);
        for (let i = 0; i < count; i++) {
          const x = dft2(data.slice(i * h * w, (i + 1) * h * w), new Array<number>(h * w).fill(0), h, w, -1);
          for (let u = 0; u < h; u++)
            for (let v = 0; v < w; v++) {
              if (!inSquare(u, v, h, w, b)) continue;
              const k = u * w + v;
              const mag = Math.hypot(x.re[k]!, x.im[k]!);
              const a = target[(i % channels) * h * w + k]!;
              [x.re[k], x.im[k]] = mag > 0 ? [(x.re[k]! / mag) * a, (x.im[k]! / mag) * a] : [a, 0];
            }
          const back = dft2(x.re, x.im, h, w, 1);
          for (let k = 0; k < h * w; k++)
            assert.ok(
              Math.abs(out[i * h * w + k]! - back.re[k]! / (h * w)) < 1e-9,
              `${h}x${w} count ${count} L ${L} plane ${i} pixel ${k}: ${out[i * h * w + k]} vs ${back.re[k]! / (h * w)}`,
            );
        }
      }
    }
});

test('spectrum writes into the arrays it is lent when they fit, with the values a fresh one gets, and allocates when they do not', () => {
  const rng = new Rng(13);
  const [h, w, count] = [6, 5, 3];
  const first = spectrum({ data: Array.from({ length: count * h * w }, () => rng.normal()), count, h, w });
  const data = Array.from({ length: count * h * w }, () => rng.normal());
  const fresh = spectrum({ data, count, h, w });
  const reused = spectrum({ data, count, h, w }, first);
  assert.equal(reused.re, first.re);
  assert.equal(reused.im, first.im);
  assert.deepEqual(reused.re, fresh.re);
  assert.deepEqual(reused.im, fresh.im);
  const other = spectrum({ data: data.slice(0, 2 * h * w), count: 2, h, w }, first);
  assert.notEqual(other.re, first.re);
  assert.equal(other.re.length, 2 * h * w);
});

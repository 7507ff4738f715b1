import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';

type Pad = 'same' | 'valid' | number;
interface Case {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: Pad;
}

const rng = new Rng(7);
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());

/** conv(x, w) and the gradients of sum(conv(x, w) * r) with respect to x and w, on the current backend. */
function convGrads(c: Case, x: Float32Array, w: Float32Array, r: Float32Array, outShape: number[]): Float32Array[] {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [c.batch, c.h, c.w, c.cin]);
    const wt = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
    const rt = tf.tensor(r, outShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), rt)));
    return [tf.conv2d(xt, wt, c.stride, c.pad), ...g([xt, wt])].map((t) => t.dataSync() as Float32Array);
  });
}

function outShapeOf(c: Case): number[] {
  return tf.tidy(
    () =>
      tf.conv2d(tf.zeros([c.batch, c.h, c.w, c.cin]) as tf.Tensor4D, tf.zeros([c.k, c.k, c.cin, c.cout]) as tf.Tensor4D, c.stride, c.pad)
        .shape,
  );
}

function assertClose(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    assert.ok(err <= 1e-4 * Math.max(1, scale), `${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

const cases: Case[] = [];
for (const k of [1, 2, 3, 7])
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid', Math.floor(k / 2)] as Pad[])
      for (const batch of [1, 5]) cases.push({ batch, h: 11, w: 8, cin: 3 + k, cout: 4, k, stride, pad });
// Planes of several SIMD row blocks, some partial and some spanning two images; channels that
// need padding (5 -> 8, 4 -> 8) and channels that need none (8, 16).
for (const pad of ['same', 'valid', 1] as Pad[])
  for (const batch of [1, 3]) {
    cases.push({ batch, h: 24, w: 21, cin: 5, cout: 4, k: 3, stride: 1, pad });
    cases.push({ batch, h: 23, w: 17, cin: 8, cout: 16, k: 3, stride: 2, pad });
  }
cases.push({ batch: 2, h: 48, w: 45, cin: 3, cout: 2, k: 7, stride: 1, pad: 'same' });
// Winograd 3x3 convolutions: aligned channels, several tile blocks, odd planes (overhanging tiles).
cases.push({ batch: 2, h: 25, w: 18, cin: 8, cout: 16, k: 3, stride: 1, pad: 'same' });
cases.push({ batch: 1, h: 31, w: 33, cin: 12, cout: 8, k: 3, stride: 1, pad: 'valid' });
// Native register tiles: 16-channel panels plus an 8-channel tail (40 = 16 + 16 + 8), input channels
// in groups of 16 with a 4-channel tail (36, 20), Winograd with an 8 + 4 channel split.
cases.push({ batch: 3, h: 10, w: 9, cin: 36, cout: 24, k: 1, stride: 1, pad: 'same' });
cases.push({ batch: 2, h: 14, w: 13, cin: 20, cout: 40, k: 3, stride: 1, pad: 'same' });
cases.push({ batch: 2, h: 9, w: 12, cin: 36, cout: 40, k: 3, stride: 2, pad: 1 });
// The filter gradients' 32-channel dy panels (AVX-512) followed by a 16-channel one (48 = 32 + 16), Winograd and direct.
cases.push({ batch: 2, h: 10, w: 11, cin: 24, cout: 48, k: 3, stride: 1, pad: 'same' });
cases.push({ batch: 2, h: 10, w: 11, cin: 24, cout: 48, k: 1, stride: 1, pad: 'same' });
// Winograd on planes narrower than its 4x4 patches (U-Net's bottleneck on small inputs): every patch is gathered.
cases.push({ batch: 2, h: 2, w: 2, cin: 32, cout: 16, k: 3, stride: 1, pad: 'same' });
cases.push({ batch: 1, h: 6, w: 2, cin: 8, cout: 8, k: 3, stride: 1, pad: 'same' });

test('wasm convolution and its gradients equal the cpu backend (strides 1/2, same/valid/explicit padding, kernels 1/2/3/7, batch 1/5, non-square, small and large planes)', async () => {
  for (const c of cases) {
    const outShape = (await initBackend('cpu'), outShapeOf(c));
    const x = rand(c.batch * c.h * c.w * c.cin);
    const w = rand(c.k * c.k * c.cin * c.cout);
    const r = rand(outShape.reduce((a, b) => a * b, 1));
    const expected = convGrads(c, x, w, r, outShape);
    await initBackend('wasm');
    const actual = convGrads(c, x, w, r, outShape);
    const label = JSON.stringify(c);
    for (const [i, name] of ['y', 'dx', 'dW'].entries()) assertClose(actual[i]!, expected[i]!, `${name} ${label}`);
  }
});

test('wasm transposed convolution (U-Net 2x2/2 up-convolution) and its gradients equal the cpu backend', async () => {
  for (const [n, h, w, cin, cout, k, s] of [
    [2, 5, 7, 6, 3, 2, 2],
    [1, 4, 4, 4, 2, 3, 2],
    [3, 6, 5, 2, 5, 3, 1],
  ] as const) {
    const x = rand(n * h * w * cin);
    const f = rand(k * k * cout * cin);
    const outShape: [number, number, number, number] = [n, h * s, w * s, cout];
    const r = rand(outShape.reduce((a, b) => a * b, 1));
    const run = (): Float32Array[] =>
      tf.tidy(() => {
        const rt = tf.tensor(r, outShape);
        const fn = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, s, 'same');
        const y = fn(tf.tensor4d(x, [n, h, w, cin]), tf.tensor4d(f, [k, k, cout, cin]));
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fn(a, b), rt)))([
          tf.tensor4d(x, [n, h, w, cin]),
          tf.tensor4d(f, [k, k, cout, cin]),
        ]);
        return [y, ...g].map((t) => t.dataSync() as Float32Array);
      });
    await initBackend('cpu');
    const expected = run();
    await initBackend('wasm');
    const actual = run();
    for (const [i, name] of ['y', 'dx', 'dW'].entries()) assertClose(actual[i]!, expected[i]!, `${name} k${k} s${s}`);
  }
});

test('kernels free their intermediates', async () => {
  await initBackend('wasm');
  const x = tf.randomNormal([2, 20, 20, 4]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 4, 5]) as tf.Tensor4D;
  const grad = (): void => {
    tf.tidy(() => {
      for (const stride of [2, 1])
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same')))([x, w]);
    });
  };
  grad();
  const before = tf.memory().numBytes;
  const backendBefore = (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
  for (let i = 0; i < 3; i++) grad();
  assert.equal(tf.memory().numBytes, before);
  assert.equal((tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds(), backendBefore);
  tf.dispose([x, w]);
});

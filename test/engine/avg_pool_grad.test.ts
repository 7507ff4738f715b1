import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(5);

test('wasm AvgPoolGrad equals the cpu backend bit for bit: tiling windows (SIMD path, uncovered edges, channel tails) and overlapping ones (stock path)', async () => {
  const cases: Array<{ shape: [number, number, number, number]; size: number; stride: number; pad: 'same' | 'valid' | number }> = [
    { shape: [2, 8, 6, 8], size: 2, stride: 2, pad: 0 },
    { shape: [3, 7, 9, 5], size: 2, stride: 2, pad: 'valid' },
    { shape: [1, 10, 7, 3], size: 3, stride: 3, pad: 'valid' },
    { shape: [2, 9, 9, 6], size: 3, stride: 2, pad: 'same' },
  ];
  for (const { shape, size, stride, pad } of cases) {
    const xs = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
    const run = (): Float32Array =>
      tf.tidy(() => {
        const f = (t: tf.Tensor): tf.Tensor => {
          const pooled = tf.avgPool(t as tf.Tensor4D, size, stride, pad);
          // Distinct signed weights (IEEE ops only, so both backends build them alike) with zeros among them.
          const weights = tf.mul(tf.sub(tf.mod(tf.range(0, pooled.size), 7), 3), 0.37);
          return tf.sum(tf.mul(pooled, weights.reshape(pooled.shape)));
        };
        return tf.grad(f)(tf.tensor4d(xs, shape)).dataSync() as Float32Array;
      });
    await initBackend('cpu');
    const expected = run();
    await initBackend('wasm');
    const actual = run();
    assert.deepEqual(actual, expected, `shape ${shape} size ${size} stride ${stride} pad ${pad}`);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(3);

test('wasm MaxPoolGrad equals the cpu backend: DenseNet stem 3x3/2 pad 1, U-Net 2x2/2, same and valid, ties after ReLU', async () => {
  const cases: Array<{ shape: [number, number, number, number]; size: number; stride: number; pad: 'same' | 'valid' | number }> = [
    { shape: [2, 9, 7, 5], size: 3, stride: 2, pad: 1 },
    { shape: [1, 8, 6, 3], size: 2, stride: 2, pad: 'valid' },
    { shape: [3, 5, 5, 4], size: 3, stride: 1, pad: 'same' },
    { shape: [1, 7, 10, 2], size: 3, stride: 2, pad: 'valid' },
  ];
  for (const { shape, size, stride, pad } of cases) {
    for (const relu of [false, true]) {
      const xs = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
      const run = (): Float32Array =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, shape);
          const f = (t: tf.Tensor): tf.Tensor => {
            const pooled = tf.maxPool((relu ? tf.relu(t) : t) as tf.Tensor4D, size, stride, pad);
            return tf.sum(tf.mul(pooled, tf.range(1, pooled.size + 1).reshape(pooled.shape)));
          };
          return tf.grad(f)(x).dataSync() as Float32Array;
        });
      await initBackend('cpu');
      const expected = run();
      await initBackend('wasm');
      const actual = run();
      assert.deepEqual(actual, expected, `shape ${shape} size ${size} stride ${stride} pad ${pad} relu ${relu}`);
    }
  }
});

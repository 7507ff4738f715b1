import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(3);

interface PoolCase {
  shape: [number, number, number, number];
  size: number;
  stride: number;
  pad: 'same' | 'valid' | number;
}

/**
 * Asserts the gradient of sum(pool(pre(x)) * weights) is bit-identical on wasm and cpu. The
 * weights are distinct, signed, with zeros among them, and built from IEEE ops only (so both
 * backends build them alike).
 */
async function assertGradMatchesCpu(c: PoolCase, pool: (x: tf.Tensor4D) => tf.Tensor4D, label: string): Promise<void> {
  const xs = Float32Array.from({ length: c.shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const run = (): Float32Array =>
    tf.tidy(() => {
      const f = (t: tf.Tensor): tf.Tensor => {
        const pooled = pool(t as tf.Tensor4D);
        const weights = tf.mul(tf.sub(tf.mod(tf.range(0, pooled.size), 7), 3), 0.37);
        return tf.sum(tf.mul(pooled, weights.reshape(pooled.shape)));
      };
      return tf.grad(f)(tf.tensor4d(xs, c.shape)).dataSync() as Float32Array;
    });
  await initBackend('cpu');
  const expected = run();
  await initBackend('wasm');
  assert.deepEqual(run(), expected, `${label}: shape ${c.shape} size ${c.size} stride ${c.stride} pad ${c.pad}`);
}

test('wasm MaxPoolGrad equals the cpu backend: DenseNet stem 3x3/2 pad 1, U-Net 2x2/2, same and valid, channel tails, ties after ReLU', async () => {
  const cases: PoolCase[] = [
    { shape: [2, 9, 7, 5], size: 3, stride: 2, pad: 1 },
    { shape: [1, 8, 6, 3], size: 2, stride: 2, pad: 'valid' },
    { shape: [3, 5, 5, 4], size: 3, stride: 1, pad: 'same' },
    { shape: [1, 7, 10, 2], size: 3, stride: 2, pad: 'valid' },
  ];
  for (const c of cases)
    for (const relu of [false, true])
      await assertGradMatchesCpu(c, (x) => tf.maxPool(relu ? tf.relu(x) : x, c.size, c.stride, c.pad), `maxPool relu ${relu}`);
});

test('wasm AvgPoolGrad equals the cpu backend: tiling windows (SIMD path, uncovered edges, channel tails) and overlapping ones (stock path)', async () => {
  const cases: PoolCase[] = [
    { shape: [2, 8, 6, 8], size: 2, stride: 2, pad: 0 },
    { shape: [3, 7, 9, 5], size: 2, stride: 2, pad: 'valid' },
    { shape: [1, 10, 7, 3], size: 3, stride: 3, pad: 'valid' },
    { shape: [2, 9, 9, 6], size: 3, stride: 2, pad: 'same' },
  ];
  for (const c of cases) await assertGradMatchesCpu(c, (x) => tf.avgPool(x, c.size, c.stride, c.pad), 'avgPool');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';

test('wasm Reverse equals the cpu backend: filter flips, inner and negative axes (block copies), size-1 axes (a shared buffer), last axis and int32 (stock)', async () => {
  const cases: Array<{ shape: number[]; dims: number | number[]; dtype: 'float32' | 'int32' }> = [
    { shape: [3, 3, 5, 4], dims: [0, 1], dtype: 'float32' },
    { shape: [2, 3, 4, 5], dims: [0, 2], dtype: 'float32' },
    { shape: [4, 1, 6], dims: [-2, 0], dtype: 'float32' },
    { shape: [2, 5, 3], dims: 1, dtype: 'float32' },
    { shape: [3, 4], dims: [1], dtype: 'float32' },
    { shape: [1, 1, 6, 4], dims: [0, 1], dtype: 'float32' },
    { shape: [3, 3, 2, 2], dims: [0, 1], dtype: 'int32' },
  ];
  for (const { shape, dims, dtype } of cases) {
    const run = (): number[] =>
      tf.tidy(() =>
        Array.from(
          tf
            .reverse(
              tf
                .range(
                  0,
                  shape.reduce((a, b) => a * b, 1),
                  1,
                  dtype,
                )
                .reshape(shape),
              dims,
            )
            .dataSync(),
        ),
      );
    await initBackend('cpu');
    const expected = run();
    await initBackend('wasm');
    assert.deepEqual(run(), expected, `shape ${shape} dims ${dims} ${dtype}`);
  }
});

test('wasm Reverse of size-1 axes shares the input buffer, which outlives the input', async () => {
  await initBackend('wasm');
  const x = tf.range(0, 24, 1, 'float32').reshape([1, 1, 6, 4]);
  const before = tf.memory().numDataBuffers;
  const y = tf.reverse(x, [0, 1]);
  assert.equal(tf.memory().numDataBuffers, before, 'no new buffer');
  x.dispose();
  assert.deepEqual(
    Array.from(y.dataSync()),
    Array.from({ length: 24 }, (_, i) => i),
  );
  y.dispose();
});

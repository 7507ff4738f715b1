import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(13);

test('wasm Transpose equals the cpu backend: tiled 2-D, batched, around a kept axis, over runs (batched or not), size-1 axes, fallbacks', async () => {
  const cases: Array<[number[], number[]]> = [
    [
      [37, 53],
      [1, 0],
    ],
    [
      [3, 33, 65],
      [0, 2, 1],
    ],
    [
      [35, 4, 41],
      [2, 1, 0],
    ],
    [
      [5, 7, 6],
      [1, 0, 2],
    ],
    [
      [5, 7, 300],
      [1, 0, 2],
    ],
    [
      [6, 9, 10, 34],
      [3, 1, 2, 0],
    ],
    [
      [6, 9, 10, 34],
      [1, 2, 0, 3],
    ],
    [
      [2, 3, 4, 5],
      [0, 3, 1, 2],
    ],
    // Two axes swapped above runs under a batch, each of the three the longest once, and a U-Net
    // up-convolution's depth-to-space [N, H, W, 2, 2, C] -> [N, H, 2, W, 2, C].
    [
      [3, 5, 2, 4],
      [0, 2, 1, 3],
    ],
    [
      [7, 3, 2, 6],
      [0, 2, 1, 3],
    ],
    [
      [2, 3, 9, 4],
      [0, 2, 1, 3],
    ],
    [
      [2, 3, 4, 2, 2, 5],
      [0, 1, 3, 2, 4, 5],
    ],
    [
      [1, 5, 1, 7],
      [3, 2, 1, 0],
    ],
    [
      [1, 1],
      [1, 0],
    ],
    [
      [4, 5, 6],
      [0, 1, 2],
    ],
    [
      [4, 5, 6],
      [2, 0, 1],
    ],
  ];
  for (const [shape, perm] of cases) {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
    const run = (): { f: Float32Array; i: Int32Array } =>
      tf.tidy(() => ({
        f: tf.transpose(tf.tensor(values, shape), perm).dataSync() as Float32Array,
        i: tf
          .transpose(
            tf.tensor(
              Int32Array.from(values, (v) => Math.round(v * 100)),
              shape,
              'int32',
            ),
            perm,
          )
          .dataSync() as Int32Array,
      }));
    await initBackend('cpu');
    const expected = run();
    await initBackend('wasm');
    const actual = run();
    assert.deepEqual(actual.f, expected.f, `float32 ${shape} perm ${perm}`);
    assert.deepEqual(actual.i, expected.i, `int32 ${shape} perm ${perm}`);
  }
});

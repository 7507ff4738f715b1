import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(11);

test('wasm concat and split equal the cpu backend on every axis, short and long runs, and other dtypes', async () => {
  for (const shape of [
    [2, 3, 5, 7],
    [1, 4, 4, 300],
    [3, 2, 9],
    // Runs of whole f32x4s up to 256 bytes take the vector copy.
    [2, 3, 4, 8],
  ]) {
    for (let axis = 0; axis < shape.length; axis++) {
      const pieces = [1, 2, 3].map((k) => {
        const s = shape.slice();
        s[axis] = k;
        return { shape: s, data: Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()) };
      });
      const run = (): { joined: Float32Array; parts: Float32Array[]; ints: Int32Array } =>
        tf.tidy(() => {
          const joined = tf.concat(
            pieces.map((p) => tf.tensor(p.data, p.shape)),
            axis,
          );
          const parts = tf.split(joined, [1, 2, 3], axis);
          const ints = tf.concat([tf.tensor([[1, 2]], [1, 2], 'int32'), tf.tensor([[3]], [1, 1], 'int32')], 1);
          return {
            joined: joined.dataSync() as Float32Array,
            parts: parts.map((t) => t.dataSync() as Float32Array),
            ints: ints.dataSync() as Int32Array,
          };
        });
      await initBackend('cpu');
      const expected = run();
      await initBackend('wasm');
      const actual = run();
      assert.deepEqual(actual.joined, expected.joined, `concat ${shape} axis ${axis}`);
      actual.parts.forEach((p, i) => assert.deepEqual(p, pieces[i]!.data, `split ${shape} axis ${axis} piece ${i}`));
      assert.deepEqual(Array.from(actual.ints), [1, 2, 3]);
    }
  }
});

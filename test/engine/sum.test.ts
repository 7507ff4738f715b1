import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(29);

test('wasm Sum and Mean equal the cpu backend over runs of adjacent axes (bias gradients, pools, norms) and fall back for other reductions', async () => {
  const cases: Array<[number[], number | number[] | null, boolean]> = [
    [[4, 9, 11, 32], [0, 1, 2], false], // a conv bias gradient
    [[4, 9, 11, 3], [2, 1, 0], true],
    [[7, 19], 0, false],
    [[5, 6, 7], [0, 1, 2], false], // everything
    [[3, 3, 128, 32], [0, 1, 2, 3], false], // everything, read 128 floats a row (a norm)
    [[3, 3, 41, 7], null, true], // everything, an odd count: one column
    [[4, 5, 7, 1024], [1, 2], false], // a global average pool's sum
    [[6, 32, 24, 3], [1, 2], true], // per image and channel (AmpNorm's shift), 3 channels read 64 pixels a row
    [[5, 6, 7], [1, 2], false], // short runs per outer index: the stock kernel
    [[5, 6, 7], [0, 2], true], // not contiguous: the stock kernel
    [[0, 6], 0, false], // empty
  ];
  for (const [shape, axis, keepDims] of cases) {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
    const run = (): { shape: number[]; data: Float32Array } =>
      tf.tidy(() => {
        const x = tf.tensor(values, shape);
        const [s, m] = [tf.sum(x, axis ?? undefined, keepDims), tf.mean(x, axis ?? undefined, keepDims)];
        assert.deepEqual(m.shape, s.shape);
        return { shape: s.shape, data: Float32Array.from([...s.dataSync(), ...m.dataSync()]) };
      });
    await initBackend('cpu');
    const expected = run();
    await initBackend('wasm');
    const actual = run();
    assert.deepEqual(actual.shape, expected.shape, `shape of ${shape} over ${axis}`);
    // Ours adds in float64: within float32 rounding of a sum of |values|.
    for (let i = 0; i < expected.data.length; i++)
      assert.ok(
        Math.abs(actual.data[i]! - expected.data[i]!) <= 1e-5 * Math.sqrt(values.length) + 1e-6,
        `${shape} over ${axis}: element ${i}`,
      );
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(31);
const values = (shape: number[]): Float32Array => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

test('wasm Add, Sub, Multiply and Relu equal the cpu backend bit for bit: same shapes, biases either side, fallbacks, NaN and -0 in ReLU', async () => {
  const pairs: Array<[number[], number[]]> = [
    [
      [64, 33, 17],
      [64, 33, 17],
    ], // large enough to wake the helper threads
    [[4, 9, 11, 32], [32]], // a bias
    [[32], [4, 9, 11, 32]], // a bias first (Sub: the stock kernel)
    [
      [4, 9, 11, 2],
      [1, 1, 1, 2],
    ],
    [
      [4, 9, 11, 2],
      [4, 9, 11, 1],
    ], // broadcast inside: the stock kernel
    [
      [4, 24, 16, 3],
      [4, 1, 1, 3],
    ], // per image (AmpNorm's shift): one call per image
    [
      [3, 2, 80, 16],
      [3, 2, 1, 16],
    ], // per leading pair
    [[5, 7], []], // a scalar
    [[3], [1, 1, 3]], // higher rank second: the stock kernel
  ];
  const relu = values([64, 33, 17]);
  relu.set([NaN, -0, 0, -Infinity, Infinity], 0);
  const inputs = pairs.map(([sa, sb]) => [values(sa), values(sb)] as const);
  const run = (): Float32Array[] =>
    tf.tidy(() => {
      const outs: tf.Tensor[] = [tf.relu(tf.tensor(relu, [64, 33, 17]))];
      pairs.forEach(([sa, sb], i) => {
        const [a, b] = [tf.tensor(inputs[i]![0], sa), tf.tensor(inputs[i]![1], sb)];
        outs.push(tf.add(a, b), tf.sub(a, b), tf.mul(a, b));
      });
      outs.push(tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([4, 5, 6], [3], 'int32')));
      return outs.map((t) => t.dataSync() as Float32Array);
    });
  await initBackend('cpu');
  const expected = run();
  await initBackend('wasm');
  const actual = run();
  assert.equal(actual.length, expected.length);
  // Bits compared, except that any NaN equals any other (the cpu backend's carries a sign bit).
  const canonical = (a: Float32Array): Float32Array => a.map((v) => (Number.isNaN(v) ? 12345.5 : v));
  for (let i = 0; i < expected.length; i++) assert.deepEqual(canonical(actual[i]!), canonical(expected[i]!), `output ${i}`);
  assert.ok(Object.is(actual[0]![1], 0) && Number.isNaN(actual[0]![0]) && actual[0]![3] === 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';

const rng = new Rng(5);

interface Results {
  padded: Float32Array[];
  sliced: Float32Array[];
  padGrad: Float32Array;
}

/** Pads and slices that padPlane takes (rows and columns of all images and channels), those it leaves to the stock kernels, and the padding's gradient (a Slice). */
function run(x: Float32Array, shape: [number, number, number, number]): Results {
  return tf.tidy(() => {
    const t = tf.tensor4d(x, shape);
    const pads: Array<[number, number][]> = [
      [
        [0, 0],
        [2, 2],
        [2, 2],
        [0, 0],
      ],
      [
        [0, 0],
        [0, 3],
        [1, 0],
        [0, 0],
      ],
      [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 2],
      ], // channels: stock
      [
        [1, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ], // images: stock
    ];
    const padded = pads.map((p) => tf.pad(t, p).dataSync() as Float32Array);
    padded.push(tf.pad(t, pads[0]!, 1.5).dataSync() as Float32Array); // non-zero constant: stock
    const [n, h, w, c] = shape;
    const slices: Array<[number[], number[]]> = [
      [
        [0, 1, 2, 0],
        [n, h - 2, w - 3, c],
      ],
      [
        [0, 0, 1, 0],
        [-1, -1, 1, -1],
      ],
      [
        [0, 1, 1, 1],
        [n, 2, 2, c - 1],
      ], // channels: stock
      [
        [1, 0, 0, 0],
        [n - 1, h, w, c],
      ], // images: stock
    ];
    const sliced = slices.map(([b, s]) => tf.slice(t, b, s).dataSync() as Float32Array);
    const weights = tf.tensor4d(
      Float32Array.from({ length: n * (h + 4) * (w + 4) * c }, (_, i) => (i % 13) - 6),
      [n, h + 4, w + 4, c],
    );
    const grad = tf.grad((v) => tf.sum(tf.mul(tf.pad(v as tf.Tensor4D, pads[0]!), weights)))(t);
    return { padded, sliced, padGrad: grad.dataSync() as Float32Array };
  });
}

test('wasm PadV2 and Slice of the image plane equal the cpu backend, and the cases they leave to the stock kernels too', async () => {
  for (const shape of [
    [2, 5, 6, 3],
    [16, 28, 28, 64], // large enough to wake the helper threads
  ] as Array<[number, number, number, number]>) {
    const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
    await initBackend('cpu');
    const expected = run(x, shape);
    await initBackend('wasm');
    const actual = run(x, shape);
    assert.deepEqual(actual, expected, `${shape}`);
  }
});

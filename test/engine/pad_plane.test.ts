import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { padPlane } from '../../src/engine/kernels/padded_input.js';
import type { HeapBackend } from '../../src/engine/kernels/heap_backend.js';

/** The definition: dst[b, i, j, ch] = src[b, i - top, j - left, ch] inside src, else 0. */
function reference(src: Float32Array, [n, h, w, c]: number[], hp: number, wp: number, cp: number, top: number, left: number): Float32Array {
  const out = new Float32Array(n! * hp * wp * cp);
  for (let b = 0; b < n!; b++)
    for (let i = 0; i < hp; i++)
      for (let j = 0; j < wp; j++)
        for (let ch = 0; ch < c!; ch++) {
          const si = i - top;
          const sj = j - left;
          if (si >= 0 && si < h! && sj >= 0 && sj < w!) out[((b * hp + i) * wp + j) * cp + ch] = src[((b * h! + si) * w! + sj) * c! + ch]!;
        }
  return out;
}

test('padPlane pads, crops, moves and widens channels as its definition says (on the kernels in use, threaded)', async () => {
  await initBackend('wasm');
  const backend = tf.backend() as unknown as HeapBackend;
  // [shape, hp, wp, cp, top, left]
  const cases: Array<[number[], number, number, number, number, number]> = [
    [[2, 5, 6, 8], 7, 8, 8, 1, 1], // 'same' 3x3
    [[2, 5, 6, 3], 7, 8, 4, 1, 1], // channels rounded up to 4
    [[1, 6, 7, 8], 4, 5, 8, -1, -1], // crop on both sides
    [[3, 4, 4, 2], 9, 3, 2, 6, -2], // rows wholly outside, columns cropped
    [[1, 3, 3, 5], 4, 4, 8, -5, 0], // nothing of the source lands
    [[16, 40, 40, 32], 42, 42, 32, 1, 1], // large enough to wake the helper threads
  ];
  for (const [shape, hp, wp, cp, top, left] of cases) {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 97) - 48.5);
    const x = tf.tensor(values, shape);
    const out = padPlane(backend, x, hp, wp, cp, top, left);
    assert.deepEqual(out.shape, [shape[0], hp, wp, cp]);
    assert.deepEqual(
      backend.typedArrayFromHeap(out),
      reference(values, shape, hp, wp, cp, top, left),
      `${shape} -> ${hp}x${wp}x${cp} at ${top},${left}`,
    );
    backend.disposeData(out.dataId);
    x.dispose();
  }
});

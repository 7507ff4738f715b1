import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augment, drawAugmentation } from '../../src/data/augment.js';
import { LruCache } from '../../src/data/lru_cache.js';
import { Rng } from '../../src/engine/rng.js';

// A 2x3 single-channel image [[1,2,3],[4,5,6]].
const image = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), height: 2, width: 3, channels: 1 };

test('rot90 and flips follow numpy (rot90 counter-clockwise, flipud, fliplr)', () => {
  const rot = augment({ image, label: 0 }, { k: 1, flipRows: false, flipCols: false }).image;
  assert.deepEqual([rot.height, rot.width], [3, 2]);
  assert.deepEqual(Array.from(rot.data), [3, 6, 2, 5, 1, 4]); // np.rot90([[1,2,3],[4,5,6]])
  const rot2 = augment({ image, label: 0 }, { k: 2, flipRows: false, flipCols: false }).image;
  assert.deepEqual(Array.from(rot2.data), [6, 5, 4, 3, 2, 1]);
  const rot3 = augment({ image, label: 0 }, { k: 3, flipRows: false, flipCols: false }).image;
  assert.deepEqual(Array.from(rot3.data), [4, 1, 5, 2, 6, 3]);
  const ud = augment({ image, label: 0 }, { k: 0, flipRows: true, flipCols: false }).image;
  assert.deepEqual(Array.from(ud.data), [4, 5, 6, 1, 2, 3]);
  const lr = augment({ image, label: 0 }, { k: 0, flipRows: false, flipCols: true }).image;
  assert.deepEqual(Array.from(lr.data), [3, 2, 1, 6, 5, 4]);
});

test('image and mask are transformed alike, and draws are seeded', () => {
  const rng = new Rng(5);
  const draws = Array.from({ length: 200 }, () => drawAugmentation(rng));
  assert.deepEqual(draws.slice(0, 20), Array.from({ length: 20 }, ((r) => () => drawAugmentation(r))(new Rng(5))));
  assert.ok(new Set(draws.map((d) => d.k)).size === 4);
  const flipped = draws.filter((d) => d.flipRows || d.flipCols).length / draws.length;
  assert.ok(flipped > 0.6 && flipped < 0.9, `flip rate ${flipped}`);
  for (const aug of draws.slice(0, 24)) {
    const mask = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const out = augment({ image, label: mask }, aug);
    assert.deepEqual(Array.from(out.label as Uint8Array), Array.from(out.image.data));
  }
});

test('LRU cache evicts least recently used entries beyond its byte bound', () => {
  const cache = new LruCache<number[]>(3, (v) => v.length);
  cache.set('a', [1]);
  cache.set('b', [2]);
  cache.get('a');
  cache.set('c', [3, 3]);
  assert.equal(cache.get('b'), undefined);
  assert.deepEqual(cache.get('a'), [1]);
  assert.ok(cache.bytes <= 3);
});

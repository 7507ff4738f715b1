import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { loadManifestFederation, VAL_FRACTION } from '../../src/data/manifest.js';
import { writePng } from './write_png.js';

async function federationDir(rows: string[], files: Array<[string, number, number, 1 | 3]>): Promise<string> {
  const dir = await tempDir('harmofl-manifest-');
  for (const [f, w, h, c] of files) await writePng(path.join(dir, f), w, h, c, (x, y, ch) => (x * 7 + y * 3 + ch * 50) % 256);
  await writeFile(path.join(dir, 'manifest.csv'), ['site,split,image,label', ...rows].join('\n'));
  return dir;
}

test('classification manifest: sites, splits, val taken from the last train rows, balanced train sets', async () => {
  const rows: string[] = [];
  const files: Array<[string, number, number, 1 | 3]> = [];
  for (const [site, n] of [['A', 10], ['B', 6]] as const) {
    for (let i = 0; i < n; i++) {
      rows.push(`${site},train,${site}/${i}.png,${i % 2}`);
      files.push([`${site}/${i}.png`, 4, 3, 3]);
    }
    rows.push(`${site},test,${site}/t.png,1`);
    files.push([`${site}/t.png`, 4, 3, 3]);
  }
  const dir = await federationDir(rows, files);
  const fed = await loadManifestFederation(dir);
  assert.equal(fed.task, 'classification');
  assert.equal(fed.numClasses, 2);
  const [a, b] = fed.sites;
  // A: 10 train rows, no val rows: the last 20% become val; balanced to B's 6 - 1 = 5.
  assert.equal(a!.val.size, Math.floor(10 * VAL_FRACTION));
  assert.equal(b!.val.size, Math.floor(6 * VAL_FRACTION));
  assert.equal(a!.train.size, b!.train.size);
  assert.equal(b!.train.size, 6 - Math.floor(6 * VAL_FRACTION));
  const s = await a!.val.get(0);
  assert.deepEqual([s.image.height, s.image.width, s.image.channels], [3, 4, 3]);
  assert.equal(s.label, 0); // row 8 of site A
  const imbalanced = await loadManifestFederation(dir, { imbalance: true });
  assert.equal(imbalanced.sites[0]!.train.size, 8);
});

test('segmentation manifest: masks become class indices (non-zero is foreground) and must match their image', async () => {
  const dir = await federationDir(['S,train,img.png,mask.png', 'S,val,img.png,mask.png', 'S,test,img.png,bad_mask.png'], [
    ['img.png', 5, 4, 3],
    ['bad_mask.png', 4, 4, 1],
  ]);
  await writePng(path.join(dir, 'mask.png'), 5, 4, 1, (x) => (x >= 3 ? 255 : 0));
  const fed = await loadManifestFederation(dir);
  assert.equal(fed.task, 'segmentation');
  const s = await fed.sites[0]!.train.get(0);
  assert.deepEqual(Array.from(s.label as Uint8Array).slice(0, 5), [0, 0, 0, 1, 1]);
  await assert.rejects(fed.sites[0]!.test.get(0), /bad_mask\.png: mask is 4x4, its image img\.png is 5x4/);
});

test('bad manifests fail at load with the file, the line and the fix', async () => {
  const png: Array<[string, number, number, 1 | 3]> = [['a.png', 2, 2, 3]];
  await assert.rejects(loadManifestFederation(await federationDir(['A,train,missing.png,0'], png)), /missing\.png: file not found/);
  await assert.rejects(loadManifestFederation(await federationDir(['A,training,a.png,0'], png)), /manifest\.csv: line 2: unknown split "training"/);
  await assert.rejects(loadManifestFederation(await federationDir(['A,train,a.png,0', 'B,test,a.png,1'], png)), /site B has no training rows/);
  await assert.rejects(loadManifestFederation(await federationDir(['A,train,a.png,3'], png), { numClasses: 2 }), /line 2: label 3 outside the 2 classes/);
  await assert.rejects(loadManifestFederation(path.join(tmpdir(), 'no-such-federation')), /manifest\.csv: not found/);
  const dir = await federationDir(['A,train,junk.png,0'], []);
  await writeFile(path.join(dir, 'junk.png'), 'not an image');
  const fed = await loadManifestFederation(dir);
  await assert.rejects(fed.sites[0]!.train.get(0), /junk\.png: not a PNG or JPEG image/);
});

test('a large site is listed without decoding and the decoded cache stays within its bound', async () => {
  const n = 3000;
  const dir = await federationDir([], [['tiny.png', 8, 8, 3]]);
  await writeFile(path.join(dir, 'manifest.csv'), ['site,split,image,label', ...Array.from({ length: n }, (_, i) => `big,train,tiny.png,${i % 2}`)].join('\n'));
  const bound = 50 * 8 * 8 * 3 * 4; // about 50 decoded images
  const fed = await loadManifestFederation(dir, { cacheBytes: bound });
  const train = fed.sites[0]!.train;
  assert.equal(train.size, n - Math.floor(n * VAL_FRACTION));
  assert.equal(fed.cachedBytes(), 0, 'listing decodes nothing');
  let peak = 0;
  for (let i = 0; i < train.size; i++) {
    await train.get(i);
    peak = Math.max(peak, fed.cachedBytes());
  }
  // Every image was decoded, yet the cache never held more than its bound (about 50 of them).
  assert.ok(peak > 0 && peak <= bound, `cache peaked at ${peak} bytes for a bound of ${bound}`);
});

test('summary gives rows per split, image size and class balance per site', async () => {
  const { summarizeFederation } = await import('../../src/data/summary.js');
  const dir = await federationDir(['A,train,a.png,0', 'A,train,a.png,1', 'A,train,a.png,1', 'A,val,a.png,0', 'A,test,a.png,1'], [['a.png', 6, 5, 3]]);
  const fed = await loadManifestFederation(dir);
  const [s] = await summarizeFederation(fed);
  assert.deepEqual(s, { site: 'A', counts: { train: 3, val: 1, test: 1 }, imageSize: '6x5x3', classBalance: '0: 33%, 1: 67%' });
});

test('JPEG images decode as RGB, and resize gives bilinear images and nearest-neighbour masks', async () => {
  const { default: jpeg } = await import('jpeg-js');
  const dir = await federationDir(['S,train,photo.jpg,mask.png', 'S,val,photo.jpg,mask.png'], []);
  const rgba = new Uint8Array(8 * 4 * 4).fill(200);
  await writeFile(path.join(dir, 'photo.jpg'), jpeg.encode({ data: rgba, width: 8, height: 4 }, 95).data);
  await writePng(path.join(dir, 'mask.png'), 8, 4, 1, (x) => (x < 4 ? 0 : 9));
  const fed = await loadManifestFederation(dir, { resize: [8, 16] });
  const s = await fed.sites[0]!.train.get(0);
  assert.deepEqual([s.image.height, s.image.width, s.image.channels], [8, 16, 3]);
  assert.ok(Math.abs(s.image.data[0]! - 200) <= 2, `JPEG value ${s.image.data[0]}`);
  assert.deepEqual(Array.from((s.label as Uint8Array).slice(0, 16)), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  const { resizeBilinear } = await import('../../src/data/resize.js');
  const up = resizeBilinear({ data: Float32Array.from([0, 10]), height: 1, width: 2, channels: 1 }, 1, 4);
  assert.deepEqual(Array.from(up.data), [0, 2.5, 7.5, 10]);
});

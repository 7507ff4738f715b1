import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { decodeNifti } from '../../src/data/nifti.js';
import { encodeNifti } from '../../src/data/nifti_writer.js';
import { loadProstateFederation, sliceStack, windowVolume, PROSTATE_SPLIT } from '../../src/data/prostate.js';

test('NIfTI round trip: .nii.gz and .nii, float32 and uint8, x fastest', () => {
  const dims: [number, number, number] = [3, 2, 2];
  const f = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1);
  const v = decodeNifti(encodeNifti(f, dims), 'a.nii.gz');
  assert.deepEqual(v.dims, dims);
  assert.deepEqual(Array.from(v.data), Array.from(f));
  const u = Uint8Array.from({ length: 12 }, (_, i) => i);
  assert.deepEqual(Array.from(decodeNifti(gunzipSync(encodeNifti(u, dims)), 'b.nii').data), Array.from(u));
});

test('corrupt and foreign NIfTI files fail naming the file', () => {
  const good = encodeNifti(new Float32Array(8), [2, 2, 2]);
  assert.throws(() => decodeNifti(good.subarray(0, good.length - 20), 'cut.nii.gz'), /cut\.nii\.gz: (corrupt gzip|truncated|unreadable)/);
  assert.throws(() => decodeNifti(new TextEncoder().encode('hello'), 'text.nii'), /text\.nii: not a NIfTI/);
});

test('windowing clips at the 99th percentile and maps [min, p99] to 0..255; slices stack with clamped neighbours', () => {
  const data = Float32Array.from({ length: 1000 }, (_, i) => i);
  const w = windowVolume({ data, dims: [10, 10, 10] });
  assert.equal(w[0], 0);
  assert.ok(Math.abs(w[989]! - 255) < 1e-3 && w[999] === 255);
  assert.ok(Math.abs(w[500]! - (500 / 989) * 255) < 1e-3);
  const vol = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => Math.floor(i / 4)); // slice z holds z
  assert.deepEqual(Array.from(sliceStack(vol, [2, 2, 3], 0).slice(0, 3)), [0, 0, 1]);
  assert.deepEqual(Array.from(sliceStack(vol, [2, 2, 3], 2).slice(0, 3)), [1, 2, 2]);
});

async function site(dir: string, name: string, cases: Array<{ image: [number, number, number]; mask: [number, number, number]; fg: number[] }>): Promise<void> {
  await mkdir(path.join(dir, name), { recursive: true });
  for (const [i, c] of cases.entries()) {
    const n = c.image[0] * c.image[1] * c.image[2];
    await writeFile(path.join(dir, name, `Case0${i}.nii.gz`), encodeNifti(Float32Array.from({ length: n }, (_, k) => k % 97), c.image));
    const plane = c.mask[0] * c.mask[1];
    const m = new Uint8Array(plane * c.mask[2]);
    for (const z of c.fg) m.fill(2, z * plane, z * plane + 3); // value 2 must become class 1
    await writeFile(path.join(dir, name, `Case0${i}_Segmentation.nii.gz`), encodeNifti(m, c.mask));
  }
}

test('prostate federation: foreground slices only, 3-slice stacks, masks > 1 become 1, 64/16/20 seeded split, errors', async () => {
  const dir = await tempDir('harmofl-prostate-');
  const shape: [number, number, number] = [16, 16, 10];
  await site(dir, 'BIDMC', [{ image: shape, mask: shape, fg: [1, 2, 3, 4, 5, 6, 7, 8] }, { image: shape, mask: shape, fg: [0, 9] }]);
  await site(dir, 'HK', [{ image: shape, mask: shape, fg: [2, 3, 4, 5, 6, 7, 8, 9, 1, 0] }]);
  const fed = await loadProstateFederation(dir, { imbalance: true });
  assert.deepEqual(fed.sites.map((s) => s.name), ['BIDMC', 'HK']);
  const bidmc = fed.sites[0]!;
  const total = bidmc.train.size + bidmc.val.size + bidmc.test.size;
  assert.equal(total, 10);
  assert.equal(bidmc.train.size, Math.floor(10 * PROSTATE_SPLIT.train));
  assert.equal(bidmc.val.size, Math.floor(10 * PROSTATE_SPLIT.val));
  const s = await bidmc.train.get(0);
  assert.deepEqual([s.image.height, s.image.width, s.image.channels], [16, 16, 3]);
  const mask = s.label as Uint8Array;
  assert.ok(mask.every((v) => v === 0 || v === 1) && mask.some((v) => v === 1));
  const again = await loadProstateFederation(dir, { imbalance: true });
  assert.deepEqual((await again.sites[0]!.test.get(0)).label, (await bidmc.test.get(0)).label, 'same seed, same split');

  const indexFile = path.join(dir, 'splits.json');
  await writeFile(indexFile, JSON.stringify({ BIDMC: { train: ['Case00:1', 'Case00:2'], val: ['Case01:9'], test: ['Case00:8'] }, HK: { train: ['Case00:0'] } }));
  const fixed = await loadProstateFederation(dir, { splitFile: indexFile, imbalance: true });
  assert.deepEqual(fixed.sites.map((x) => [x.train.size, x.val.size, x.test.size]), [[2, 1, 1], [1, 0, 0]]);
  await writeFile(indexFile, JSON.stringify({ BIDMC: { train: ['Case00:0'] } }));
  await assert.rejects(loadProstateFederation(dir, { splitFile: indexFile }), /splits\.json: BIDMC\/train: "Case00:0" is not a foreground slice/);

  const bad = await tempDir('harmofl-prostate-bad-');
  await site(bad, 'UCL', [{ image: [16, 16, 9], mask: shape, fg: [1, 2, 3, 4, 5] }]);
  const fedBad = await loadProstateFederation(bad);
  await assert.rejects(fedBad.sites[0]!.train.get(0), /Case00\.nii\.gz: volume is 16x16x9, its mask 16x16x10/);
  await writeFile(path.join(bad, 'UCL', 'Case07.nii.gz'), encodeNifti(new Float32Array(8), [2, 2, 2]));
  await assert.rejects(loadProstateFederation(bad), /Case07\.nii\.gz: no Case07_segmentation\.nii\.gz beside it/);
});

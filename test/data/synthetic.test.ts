import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { writeSyntheticFederations, type SynthOptions } from '../../src/data/synthetic.js';
import { detectFormat, loadFederation } from '../../src/data/federation.js';

const SMALL: Partial<SynthOptions> = { sites: 3, patchesPerSite: 20, patchSize: 16, casesPerSite: 2, volumeSize: 16, slices: 6, imagesPerSite: 10, imageSize: 16, seed: 3 };

async function digest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
  for (const f of files) hash.update(path.relative(dir, f)).update(await readFile(f));
  return hash.digest('hex');
}

test('harmofl synth writes three federations in the real formats, and the loaders read them back', async () => {
  const out = await tempDir('harmofl-synth-');
  const dirs = await writeSyntheticFederations(out, SMALL);
  assert.deepEqual(await readdir(out), ['camelyon17', 'nuclei', 'prostate'], 'no partial folders left');

  assert.equal(detectFormat(dirs.camelyon), 'camelyon');
  const cam = await loadFederation(dirs.camelyon);
  assert.deepEqual([cam.task, cam.numClasses, cam.inputScale], ['classification', 2, 1 / 255]);
  assert.deepEqual(cam.sites.map((s) => s.name), ['hospital0', 'hospital1', 'hospital2']);
  for (const s of cam.sites) assert.equal(s.train.size + s.val.size + s.test.size, 20);
  const patch = await cam.sites[0]!.train.get(0);
  assert.deepEqual([patch.image.height, patch.image.width, patch.image.channels], [16, 16, 3]);

  const pro = await loadFederation(dirs.prostate);
  assert.deepEqual(pro.sites.map((s) => s.name), ['BIDMC', 'HK', 'I2CVB']);
  const slice = await pro.sites[1]!.train.get(0);
  assert.deepEqual([slice.image.height, slice.image.width, slice.image.channels], [16, 16, 3]);
  assert.ok((slice.label as Uint8Array).some((v) => v === 1));

  const nuc = await loadFederation(dirs.nuclei);
  assert.equal(nuc.task, 'segmentation');
  const cell = await nuc.sites[2]!.test.get(0);
  assert.ok((cell.label as Uint8Array).some((v) => v === 1));

  // Sites differ in appearance (mean colour), not in labels.
  const meanOf = async (i: number): Promise<number[]> => {
    const sums = [0, 0, 0];
    for (let k = 0; k < 8; k++) {
      const { image } = await cam.sites[i]!.train.get(k);
      for (let p = 0; p < image.data.length; p++) sums[p % 3]! += image.data[p]! / (image.data.length / 3) / 8;
    }
    return sums;
  };
  const [m0, m2] = [await meanOf(0), await meanOf(2)];
  assert.ok(m0.some((v, c) => Math.abs(v - m2[c]!) > 10), `site colour means ${m0} vs ${m2}`);
});

test('the same seed gives identical files', async () => {
  const a = await tempDir('harmofl-synth-a-');
  const b = await tempDir('harmofl-synth-b-');
  await writeSyntheticFederations(a, SMALL);
  await writeSyntheticFederations(b, SMALL);
  assert.equal(await digest(a), await digest(b));
  const c = await tempDir('harmofl-synth-c-');
  await writeSyntheticFederations(c, { ...SMALL, seed: 4 });
  assert.notEqual(await digest(a), await digest(c));
});

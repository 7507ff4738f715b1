import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { camelyonPatchPath, loadCamelyonFederation, CAMELYON_TEST_FRACTION } from '../../src/data/camelyon.js';
import { VAL_FRACTION } from '../../src/data/manifest.js';
import { writePng } from './write_png.js';

test('Camelyon17-WILDS: a site per center, seeded test split, validation from train, WILDS patch paths', async () => {
  const dir = await tempDir('harmofl-camelyon-');
  const lines = [',patient,node,x_coord,y_coord,tumor,slide,center,split'];
  let index = 0;
  for (const center of [0, 3]) {
    for (let i = 0; i < 25; i++) {
      const patient = String(center * 5 + 4);
      // Each patch's pixel value identifies it.
      await writePng(path.join(dir, camelyonPatchPath(patient, '1', String(i * 96), '96')), 6, 6, 3, () => i * 8 + center);
      lines.push(`${index++},${patient},1,${i * 96},96,${i % 2},${center},${center},0`);
    }
  }
  await writeFile(path.join(dir, 'metadata.csv'), lines.join('\n'));
  assert.equal(camelyonPatchPath('4', '1', '0', '96'), path.join('patches', 'patient_004_node_1', 'patch_patient_004_node_1_x_0_y_96.png'));
  const fed = await loadCamelyonFederation(dir, { seed: 1 });
  assert.deepEqual(fed.sites.map((s) => s.name), ['hospital0', 'hospital3']);
  const site = fed.sites[1]!;
  const test = Math.floor(25 * CAMELYON_TEST_FRACTION);
  assert.equal(site.test.size, test);
  assert.equal(site.val.size, Math.floor((25 - test) * VAL_FRACTION));
  const s = await site.train.get(0);
  assert.equal(s.image.data[0]! % 8, 3, 'hospital3 patches come from center 3');
  assert.equal(fed.inputScale, 1 / 255);
  const testIds = async (seed: number): Promise<number[]> => {
    const t = (await loadCamelyonFederation(dir, { seed })).sites[0]!.test;
    return Promise.all(Array.from({ length: t.size }, async (_, i) => (await t.get(i)).image.data[0]!));
  };
  assert.deepEqual(await testIds(1), await testIds(1));
  assert.notDeepEqual(await testIds(1), await testIds(2));
  await writeFile(path.join(dir, 'metadata.csv'), `${lines[0]}\n0,4,1,0,96,yes,0,0,0`);
  await assert.rejects(loadCamelyonFederation(dir), /metadata\.csv: line 2: tumor must be 0 or 1, got "yes"/);
});

import path from 'node:path';
import { Rng } from '../engine/rng.js';
import { DataError } from './image_codec.js';
import { buildFederation, parseCsv, readListing, type Federation, type ManifestOptions, type Row } from './manifest.js';

/** Share of each hospital's patches held out for testing (seeded, per hospital). */
export const CAMELYON_TEST_FRACTION = 0.2;

export interface CamelyonOptions extends Omit<ManifestOptions, 'task' | 'classMap' | 'numClasses'> {
  /** Seed of the per-hospital train/test split (default 0). */
  seed?: number;
}

/** WILDS patch path of a metadata row. */
export function camelyonPatchPath(patient: string, node: string, x: string, y: string): string {
  const p = patient.padStart(3, '0');
  return path.join('patches', `patient_${p}_node_${node}`, `patch_patient_${p}_node_${node}_x_${x}_y_${y}.png`);
}

/**
 * Camelyon17-WILDS (`metadata.csv` + `patches/`): one site per center, tumor as the label, images
 * scaled to [0, 1]. Per site the patches are shuffled with `seed + center` and the last 20% are
 * the test set; validation is the last 20% of the rest (as the reference).
 */
export async function loadCamelyonFederation(dir: string, options: CamelyonOptions = {}): Promise<Federation> {
  const file = path.join(dir, 'metadata.csv');
  const records = parseCsv(await readListing(file, 'a Camelyon17-WILDS root holds metadata.csv and patches/'), file, ['patient', 'node', 'x_coord', 'y_coord', 'tumor', 'center']);
  const byCenter = new Map<string, Row[]>();
  records.forEach((r, i) => {
    const line = i + 2;
    if (!/^[01]$/.test(r['tumor']!)) throw new DataError(file, `line ${line}: tumor must be 0 or 1, got "${r['tumor']}"`);
    const center = r['center']!;
    const row: Row = {
      site: `hospital${center}`,
      split: 'train',
      image: camelyonPatchPath(r['patient']!, r['node']!, r['x_coord']!, r['y_coord']!),
      label: r['tumor']!,
      line,
    };
    byCenter.set(center, [...(byCenter.get(center) ?? []), row]);
  });
  const rows: Row[] = [];
  for (const [center, siteRows] of [...byCenter].sort(([a], [b]) => Number(a) - Number(b))) {
    new Rng((options.seed ?? 0) + Number(center)).shuffle(siteRows);
    const testCount = Math.floor(siteRows.length * CAMELYON_TEST_FRACTION);
    siteRows.forEach((r, i) => {
      r.split = i >= siteRows.length - testCount ? 'test' : 'train';
    });
    rows.push(...siteRows);
  }
  return buildFederation(dir, file, rows, { ...options, task: 'classification', numClasses: 2 }, 1 / 255);
}

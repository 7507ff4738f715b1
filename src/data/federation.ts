import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadCamelyonFederation } from './camelyon.js';
import { loadManifestFederation, type Federation, type ManifestOptions } from './manifest.js';
import { loadProstateFederation } from './prostate.js';

/** The on-disk formats harmofl reads. */
export type FederationFormat = 'camelyon' | 'prostate' | 'manifest';

/** Tells the format of a federation folder by what it holds. */
export function detectFormat(dir: string): FederationFormat {
  if (existsSync(path.join(dir, 'manifest.csv'))) return 'manifest';
  if (existsSync(path.join(dir, 'metadata.csv'))) return 'camelyon';
  return 'prostate';
}

/** Loads a federation of any supported format (`seed` sets the Camelyon and prostate splits). */
export async function loadFederation(dir: string, options: ManifestOptions & { seed?: number; format?: FederationFormat } = {}): Promise<Federation> {
  const format = options.format ?? detectFormat(dir);
  if (format === 'manifest') return loadManifestFederation(dir, options);
  if (format === 'camelyon') return loadCamelyonFederation(dir, options);
  return loadProstateFederation(dir, options);
}

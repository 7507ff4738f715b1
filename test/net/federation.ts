import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { writeSyntheticFederations } from '../../src/data/synthetic.js';
import { provisionFederation, siteKitDir } from '../../src/pki/kits.js';
import { start, type Proc } from './processes.js';
import { TINY_SYNTH } from '../fl/tiny_federation.js';

/** Sites of the tiny generated classification federation. */
export const SITES = ['hospital0', 'hospital1', 'hospital2'];

/** Train options of a tiny model (densenet growth 4, blocks 2,2, features 8, 16x16 images): rounds take a fraction of a second. */
export const TINY = [
  '--model',
  'densenet',
  '--growth',
  '4',
  '--blocks',
  '2,2',
  '--features',
  '8',
  '--batch',
  '4',
  '--lr',
  '0.05',
  '--backend',
  'wasm',
];

/** A tiny three-site classification federation and its kits (server on 127.0.0.1). */
export async function tinyDeployment(): Promise<{ root: string; data: string; kits: string }> {
  const root = await tempDir('harmofl-net-');
  const dirs = await writeSyntheticFederations(path.join(root, 'data'), { ...TINY_SYNTH, sites: 3 });
  const kits = path.join(root, 'kits');
  await provisionFederation(kits, { federation: 'tiny', hosts: ['127.0.0.1'], port: 0, sites: SITES });
  return { root, data: dirs.camelyon, kits };
}

/** Starts `harmofl serve` on an ephemeral (or the given) loopback port; resolves once it listens. */
export async function serve(kits: string, out: string, args: string[], port = 0): Promise<{ proc: Proc; port: number }> {
  const proc = start([
    'serve',
    '--kit',
    path.join(kits, 'server'),
    '--out',
    out,
    '--listen',
    '127.0.0.1',
    '--port',
    String(port),
    ...TINY,
    ...args,
  ]);
  const m = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  return { proc, port: Number(m[1]) };
}

/** Starts `harmofl join` for one site against the coordinator at `port`. */
export function join(kits: string, data: string, site: string, port: number, args: string[] = []): Proc {
  return start(['join', '--kit', siteKitDir(kits, site), '--data', data, '--server', `127.0.0.1:${port}`, '--backend', 'wasm', ...args]);
}

/** A run's metrics lines without their timings. */
export async function metricsOf(out: string): Promise<unknown[]> {
  return (await readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l, (key, value: unknown) => (key === 'seconds' || key === 'elapsedSeconds' ? undefined : value)) as unknown);
}

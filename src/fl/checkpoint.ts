import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { NamedArrays } from '../engine/named_arrays.js';
import { decodeArraysFile, encodeArraysFile } from '../engine/named_arrays_file.js';
import type { OptimizerState } from '../optim/optimizer.js';

const MAGIC = 'HFLC';

/** What a checkpoint records besides tensors: where the run stands and how it was configured. */
export interface CheckpointHeader<C, B> {
  format: 'harmofl-checkpoint';
  version: 1;
  /** Last finished round. */
  round: number;
  best: B;
  config: C;
  task: string;
  sites: string[];
  optimizers: Record<string, { kind: string; step: number }>;
}

/** Everything needed to continue a run: the header, the global state, each client's optimizer state, the server strategy's state. */
export interface Checkpoint<C, B> {
  header: CheckpointHeader<C, B>;
  global: NamedArrays;
  optimizers: Map<string, OptimizerState>;
  server: NamedArrays;
  /** Per-site state by kind: `local` (FedBN's own entries), `bestLocal` (them at the best round, for `best.hflm`), `previous` (MOON's last local model). */
  siteStates: Record<SiteStateKind, Map<string, NamedArrays>>;
}

export type SiteStateKind = 'local' | 'bestLocal' | 'previous';
const SITE_STATE_KINDS: SiteStateKind[] = ['local', 'bestLocal', 'previous'];

/** Empty per-site states of every kind. */
export function emptySiteStates(): Record<SiteStateKind, Map<string, NamedArrays>> {
  return { local: new Map(), bestLocal: new Map(), previous: new Map() };
}

/** Writes a checkpoint atomically (temp file, then rename). */
export async function writeCheckpoint<C, B>(file: string, ckpt: Checkpoint<C, B>): Promise<void> {
  const arrays: NamedArrays = {};
  for (const [name, a] of Object.entries(ckpt.global)) arrays[`global/${name}`] = a;
  for (const [name, a] of Object.entries(ckpt.server)) arrays[`server/${name}`] = a;
  for (const kind of SITE_STATE_KINDS)
    for (const [site, state] of ckpt.siteStates[kind]) for (const [name, a] of Object.entries(state)) arrays[`site/${kind}/${site}/${name}`] = a;
  for (const [site, opt] of ckpt.optimizers) for (const [slot, a] of Object.entries(opt.slots)) arrays[`optimizer/${site}/${slot}`] = a;
  await writeFileAtomic(file, encodeArraysFile(MAGIC, ckpt.header, arrays));
}

/** Reads a checkpoint written by `writeCheckpoint`. */
export async function readCheckpoint<C, B>(file: string): Promise<Checkpoint<C, B>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch {
    throw new Error(`${file}: no checkpoint to resume from (run without --resume first)`);
  }
  const { header, arrays } = decodeArraysFile<CheckpointHeader<C, B>>(bytes, MAGIC, file, 'checkpoint');
  const global: NamedArrays = {};
  const server: NamedArrays = {};
  const siteStates = emptySiteStates();
  const optimizers = new Map<string, OptimizerState>(
    Object.entries(header.optimizers).map(([site, o]) => [site, { kind: o.kind, step: o.step, slots: {} }]),
  );
  for (const [name, a] of Object.entries(arrays)) {
    if (name.startsWith('global/')) global[name.slice('global/'.length)] = a;
    else if (name.startsWith('server/')) server[name.slice('server/'.length)] = a;
    else if (name.startsWith('site/')) {
      const [, kind, site, ...entry] = name.split('/');
      const map = siteStates[kind as SiteStateKind];
      map.set(site!, { ...map.get(site!), [entry.join('/')]: a });
    }
    else {
      const [, site, ...slot] = name.split('/');
      optimizers.get(site!)!.slots[slot.join('/')] = a;
    }
  }
  return { header, global, optimizers, server, siteStates };
}

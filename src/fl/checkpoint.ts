import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { NamedArrays } from '../engine/named_arrays.js';
import { decodeArraysFile, encodeArraysFile } from '../engine/named_arrays_file.js';

const MAGIC = 'HFLC';

/** What a server checkpoint records besides tensors: where the run stands and how it was configured. */
export interface CheckpointHeader<C, B> {
  format: 'harmofl-checkpoint';
  version: 2;
  /** Last finished round. */
  round: number;
  best: B;
  config: C;
  task: string;
  sites: string[];
}

/** The server's side of a run: header, global state, the strategy's state. Client state lives with the clients. */
export interface Checkpoint<C, B> {
  header: CheckpointHeader<C, B>;
  global: NamedArrays;
  server: NamedArrays;
}

/** Writes a checkpoint atomically (temp file, then rename). */
export async function writeCheckpoint<C, B>(file: string, ckpt: Checkpoint<C, B>): Promise<void> {
  const arrays: NamedArrays = {};
  for (const [name, a] of Object.entries(ckpt.global)) arrays[`global/${name}`] = a;
  for (const [name, a] of Object.entries(ckpt.server)) arrays[`server/${name}`] = a;
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
  if (header.version !== 2)
    throw new Error(`${file}: checkpoint version ${String(header.version)} is from an older harmofl; start the run again`);
  const global: NamedArrays = {};
  const server: NamedArrays = {};
  for (const [name, a] of Object.entries(arrays)) {
    if (name.startsWith('global/')) global[name.slice('global/'.length)] = a;
    else if (name.startsWith('server/')) server[name.slice('server/'.length)] = a;
  }
  return { header, global, server };
}

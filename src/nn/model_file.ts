import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { Rng } from '../engine/rng.js';
import type { AmpNormOptions } from '../harmofl/amp_norm.js';
import type { Model, ModelConfig } from './model.js';
import { createModel } from './presets.js';

const MAGIC = 'HFLM';
const VERSION = 1;

/** What a model file's header records besides the tensors. */
interface ModelHeader {
  format: 'harmofl-model';
  version: number;
  config: ModelConfig;
  ampNorm: AmpNormOptions & { frozen: boolean };
  entries: Array<{ name: string; shape: number[]; offset: number; length: number }>;
}

/** Encodes a model (config, AmpNorm options and frozen flag, every state entry) as bytes. */
export function encodeModel(model: Model): Uint8Array[] {
  const entries: ModelHeader['entries'] = [];
  const blobs: Float32Array[] = [];
  let offset = 0;
  for (const [name, e] of model.params.entries) {
    const data = Float32Array.from(e.variable.dataSync());
    entries.push({ name, shape: e.variable.shape.slice(), offset, length: data.length });
    blobs.push(data);
    offset += data.length;
  }
  const header: ModelHeader = {
    format: 'harmofl-model',
    version: VERSION,
    config: model.config,
    ampNorm: { ...model.ampNorm.options, frozen: model.ampNorm.frozen },
    entries,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad so the float payload starts 4-byte aligned.
  const pad = (4 - ((8 + json.length) % 4)) % 4;
  const prefix = new Uint8Array(8 + json.length + pad);
  prefix.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(prefix.buffer).setUint32(4, json.length, true);
  prefix.set(json, 8);
  return [prefix, ...blobs.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength))];
}

/** Decodes bytes from `encodeModel` into a new model; `source` names the file in errors. */
export function decodeModel(bytes: Uint8Array, rng: Rng, source: string): Model {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) fail('not a harmofl model file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(4, true);
  if (8 + jsonLength > bytes.length) fail('truncated header');
  let header: ModelHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + jsonLength))) as ModelHeader;
  } catch {
    return fail('corrupt header');
  }
  if (header.format !== 'harmofl-model' || header.version !== VERSION) fail(`unsupported format ${header.format} v${header.version}`);
  const start = 8 + jsonLength + ((4 - ((8 + jsonLength) % 4)) % 4);
  const floats = header.entries.reduce((a, e) => a + e.length, 0);
  if (bytes.length !== start + floats * 4) fail(`expected ${start + floats * 4} bytes, found ${bytes.length} (truncated or corrupt)`);
  // Copy: a Node Buffer's slice is a view whose .buffer starts elsewhere.
  const payload = new Float32Array(floats);
  new Uint8Array(payload.buffer).set(bytes.subarray(start));
  const { frozen, ...amp } = header.ampNorm;
  const model = createModel(header.config, rng, amp);
  const state = new Map(header.entries.map((e) => [e.name, tf.tensor(payload.subarray(e.offset, e.offset + e.length), e.shape)]));
  try {
    model.params.loadState(state);
  } catch (e) {
    model.dispose();
    fail(e instanceof Error ? e.message : String(e));
  } finally {
    tf.dispose([...state.values()]);
  }
  model.ampNorm.frozen = frozen;
  return model;
}

/** Saves a model to `file` atomically. */
export async function saveModel(file: string, model: Model): Promise<void> {
  await writeFileAtomic(file, encodeModel(model));
}

/** Loads a model saved by `saveModel`. */
export async function loadModel(file: string, rng: Rng): Promise<Model> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`cannot read model file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return decodeModel(bytes, rng, file);
}

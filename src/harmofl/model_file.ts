import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { Rng } from '../engine/rng.js';
import type { AmpNormModel } from './create_model.js';
import { decodeModel, encodeModel } from './model_codec.js';

/** Saves a model to `file` atomically. */
export async function saveModel(file: string, model: AmpNormModel): Promise<void> {
  await writeFileAtomic(file, encodeModel(model));
}

/** Loads a model saved by `saveModel`. */
export async function loadModel(file: string, rng: Rng): Promise<AmpNormModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`cannot read model file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return decodeModel(bytes, rng, file);
}

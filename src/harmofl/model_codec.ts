import * as tf from '@tensorflow/tfjs-core';
import { fromNamedArrays, toNamedArrays } from '../engine/named_arrays.js';
import { decodeArraysFile, encodeArraysFile } from '../engine/named_arrays_file.js';
import type { Rng } from '../engine/rng.js';
import type { ModelConfig } from '../nn/model.js';
import { normalizationControl } from '../nn/batch_norm.js';
import type { AmpNormOptions } from './amp_norm.js';
import { createModel, type AmpNormModel } from './create_model.js';

const MAGIC = 'HFLM';
const VERSION = 1;

/** What a model file's header records besides the tensors. */
interface ModelHeader {
  format: 'harmofl-model';
  version: number;
  config: ModelConfig;
  ampNorm: AmpNormOptions & { frozen: boolean };
}

/** Encodes a model (config, AmpNorm options and frozen flag, every state entry, calibrated BatchNorm statistics if any) as bytes. */
export function encodeModel(model: AmpNormModel): Uint8Array[] {
  const header: ModelHeader = {
    format: 'harmofl-model',
    version: VERSION,
    config: model.config,
    ampNorm: { ...model.inputNorm.options, frozen: model.inputNorm.frozen },
  };
  return encodeArraysFile(MAGIC, header, { ...toNamedArrays(model.params.state()), ...normalizationControl(model.params).toArrays() });
}

/** Decodes bytes from `encodeModel` into a new model; `source` names the file in errors. */
export function decodeModel(bytes: Uint8Array, rng: Rng, source: string): AmpNormModel {
  const { header, arrays } = decodeArraysFile<ModelHeader>(bytes, MAGIC, source, 'model');
  if (header.format !== 'harmofl-model' || header.version !== VERSION)
    throw new Error(`${source}: unsupported format ${header.format} v${header.version}`);
  const { frozen, ...amp } = header.ampNorm;
  const model = createModel(header.config, rng, amp);
  const state = fromNamedArrays(arrays);
  try {
    model.params.loadState(state);
  } catch (e) {
    model.dispose();
    throw new Error(`${source}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    tf.dispose([...state.values()]);
  }
  model.inputNorm.frozen = frozen;
  // loadState took the model's own entries; calibrated statistics (when saved) are the others.
  normalizationControl(model.params).loadArrays(arrays);
  return model;
}

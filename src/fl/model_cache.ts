import * as tf from '@tensorflow/tfjs-core';
import { fromNamedArrays, type NamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import { createModel } from '../harmofl/create_model.js';
import type { Model } from '../nn/model.js';
import type { ModelRef } from './run_spec.js';

/**
 * Models built once per role and architecture and reloaded with each round's state: building a
 * densenet121 costs seconds, loading a state milliseconds.
 */
export class ModelCache {
  private readonly models = new Map<string, Model>();

  /** The model for `ref` in `role`, with `state` loaded and AmpNorm frozen or not. */
  get(role: string, ref: ModelRef, state: NamedArrays, frozen: boolean): Model {
    const key = `${role}:${JSON.stringify(ref)}`;
    let model = this.models.get(key);
    if (model === undefined) {
      model = createModel(ref.config, new Rng(0), ref.amp);
      this.models.set(key, model);
    }
    const tensors = fromNamedArrays(state);
    try {
      model.params.loadState(tensors);
    } finally {
      tf.dispose([...tensors.values()]);
    }
    model.inputNorm.frozen = frozen;
    return model;
  }

  /** Frees every model. */
  dispose(): void {
    for (const m of this.models.values()) m.dispose();
    this.models.clear();
  }
}

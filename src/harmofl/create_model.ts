import type { Rng } from '../engine/rng.js';
import { DenseNet } from '../nn/densenet.js';
import type { Model, ModelConfig } from '../nn/model.js';
import { UNet } from '../nn/unet.js';
import { AmpNorm, type AmpNormOptions } from './amp_norm.js';

/** A model whose input preprocessor is HarmoFL's AmpNorm (an identity when disabled). */
export interface AmpNormModel extends Model {
  readonly inputNorm: AmpNorm;
}

/** Builds a model from its configuration with AmpNorm (`amp`, the released code's by default) as its first layer; weights drawn from `rng`. */
export function createModel(config: ModelConfig, rng: Rng, amp?: AmpNormOptions): AmpNormModel {
  const ampNorm = (scope: ConstructorParameters<typeof AmpNorm>[0], shape: [number, number, number]): AmpNorm =>
    new AmpNorm(scope, shape, amp);
  return config.kind === 'densenet' ? new DenseNet(config, rng, ampNorm) : new UNet(config, rng, ampNorm);
}

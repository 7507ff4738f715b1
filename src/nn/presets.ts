import type { Rng } from '../engine/rng.js';
import type { AmpNormOptions } from '../harmofl/amp_norm.js';
import { DenseNet } from './densenet.js';
import type { DenseNetConfig, Model, ModelConfig, UNetConfig } from './model.js';
import { UNet } from './unet.js';

/** DenseNet-121 layout at 96x96 (Camelyon17 patches), 2 classes. */
export function densenet121(size = 96): DenseNetConfig {
  return { kind: 'densenet', inputShape: [3, size, size], growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64, bnSize: 4, numClasses: 2 };
}

/** U-Net with 32 base features at 384x384 (prostate MRI, 3 slices as channels), 2 classes. */
export function unet32(size = 384): UNetConfig {
  return { kind: 'unet', inputShape: [3, size, size], initFeatures: 32, outChannels: 2 };
}

/** Builds a model from its configuration; weights drawn from `rng`. */
export function createModel(config: ModelConfig, rng: Rng, amp?: AmpNormOptions): Model {
  return config.kind === 'densenet' ? new DenseNet(config, rng, amp) : new UNet(config, rng, amp);
}

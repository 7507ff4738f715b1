import type { DenseNetConfig, UNetConfig } from './model.js';

/** DenseNet-121 layout at 96x96 (Camelyon17 patches), 2 classes. */
export function densenet121(size = 96): DenseNetConfig {
  return {
    kind: 'densenet',
    inputShape: [3, size, size],
    growthRate: 32,
    blockConfig: [6, 12, 24, 16],
    numInitFeatures: 64,
    bnSize: 4,
    numClasses: 2,
  };
}

/** U-Net with 32 base features at 384x384 (prostate MRI, 3 slices as channels), 2 classes. */
export function unet32(size = 384): UNetConfig {
  return { kind: 'unet', inputShape: [3, size, size], initFeatures: 32, outChannels: 2 };
}

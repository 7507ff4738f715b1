import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dConfig } from './conv2d.js';
import { conv2dBackpropFilterConfig } from './conv2d_backprop_filter.js';
import { conv2dBackpropInputConfig } from './conv2d_backprop_input.js';
import { sharedIdentityConfig } from './identity.js';
import { concatConfig, splitVConfig } from './split_concat.js';
import { bnBackwardConfig, bnForwardConfig } from './batch_norm_kernels.js';
import { denseBlockBackwardConfig } from './dense_block_backward.js';
import { denseBlockForwardConfig } from './dense_block_forward.js';
import { maxPoolGradConfig } from './max_pool_grad.js';
import { avgPoolGradConfig } from './avg_pool_grad.js';
import { reverseConfig } from './reverse.js';
import { transposeConfig } from './transpose.js';
import { meanConfig, sumConfig } from './sum.js';
import { elementwiseConfigs } from './elementwise.js';
import { padV2Config, sliceConfig } from './plane_pad_slice.js';

/**
 * Kernels this project supplies per backend: wasm lacks the conv filter gradient, has a forward
 * convolution slower than our SIMD one (assembly/), a slow input gradient, an Identity that copies, slice-per-row Concat and SplitV, pooling gradients
 * that re-scan windows, an element-by-element Transpose and Reverse, a Sum and Mean
 * that transpose first, single-threaded elementwise ops, padding and slicing, and no fused BatchNorm (ours:
 * `HarmoflBatchNormForward` / `Backward`) or dense blocks (`HarmoflDenseBlockForward` / `Backward`).
 */
const KERNELS: Record<string, Array<(backend: string) => KernelConfig>> = {
  wasm: [
    conv2dConfig,
    conv2dBackpropFilterConfig,
    conv2dBackpropInputConfig,
    sharedIdentityConfig,
    splitVConfig,
    concatConfig,
    bnForwardConfig,
    bnBackwardConfig,
    denseBlockForwardConfig,
    denseBlockBackwardConfig,
    maxPoolGradConfig,
    avgPoolGradConfig,
    transposeConfig,
    reverseConfig,
    sumConfig,
    meanConfig,
    padV2Config,
    sliceConfig,
    ...elementwiseConfigs,
  ],
};

const registered = new Set<string>();

/** Registers (or replaces) our kernels for `backendName`; idempotent. */
export function registerTrainingKernels(backendName: string): void {
  if (registered.has(backendName)) return;
  registered.add(backendName);
  for (const make of KERNELS[backendName] ?? []) {
    const config = make(backendName);
    if (getKernel(config.kernelName, backendName) !== undefined) unregisterKernel(config.kernelName, backendName);
    registerKernel(config);
  }
}

import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d_backprop_filter.js';
import { conv2dBackpropInputConfig } from './conv2d_backprop_input.js';
import { sharedIdentityConfig } from './identity.js';

/**
 * Kernels this project supplies per backend: wasm lacks the conv filter gradient, has a slow
 * input gradient, and an Identity that copies.
 */
const KERNELS: Record<string, Array<(backend: string) => KernelConfig>> = {
  wasm: [conv2dBackpropFilterConfig, conv2dBackpropInputConfig, sharedIdentityConfig],
};

/** Registers (or replaces) our kernels for `backendName`; idempotent. */
export function registerTrainingKernels(backendName: string): void {
  for (const make of KERNELS[backendName] ?? []) {
    const config = make(backendName);
    if (getKernel(config.kernelName, backendName) !== undefined) unregisterKernel(config.kernelName, backendName);
    registerKernel(config);
  }
}

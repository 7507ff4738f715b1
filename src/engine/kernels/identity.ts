import type { KernelBackend, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Identity that shares the input's buffer (reference-counted), as tfjs's cpu backend does. The
 * wasm one copies, and tfjs clones every tensor it saves for the backward pass, so the copy
 * doubled the memory of a training step. Sharing is safe: tensors are immutable, and
 * `Variable.assign` swaps the variable's buffer rather than writing into it.
 */
export function sharedIdentityConfig(backendName: string): KernelConfig {
  return {
    kernelName: 'Identity',
    backendName,
    kernelFunc: ({ inputs, backend }) =>
      sharedBuffer(backend as KernelBackend, inputs['x'] as TensorInfo, (inputs['x'] as TensorInfo).shape),
  };
}

/** x's buffer under `shape` (same size), reference-counted: what Reshape does, for kernels whose output is x's data. */
export function sharedBuffer(backend: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

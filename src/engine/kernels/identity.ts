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
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs['x'] as TensorInfo;
      (backend as KernelBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
}

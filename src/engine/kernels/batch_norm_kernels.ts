import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { HeapBackend } from './heap_backend.js';

/** Kernel names of the fused, non-affine, batch-statistics BatchNorm (channels last). */
export const BN_FORWARD = 'HarmoflBatchNormForward';
export const BN_BACKWARD = 'HarmoflBatchNormBackward';

/**
 * Forward: xhat = (x - mean) / sqrt(var + eps) per channel over all other axes, plus 1/std.
 * Two passes over x (sums in float64, then the write) instead of the ~6 of op-by-op tfjs.
 */
export function bnForwardConfig(backendName: string): KernelConfig {
  return {
    kernelName: BN_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs['x'] as TensorInfo;
      const eps = (attrs as { eps: number }).eps;
      const b = backend as unknown as HeapBackend;
      const channels = x.shape[x.shape.length - 1]!;
      const out = b.makeOutput(x.shape.slice(), 'float32');
      const invOut = b.makeOutput([channels], 'float32');
      const xs = b.typedArrayFromHeap(x);
      const ys = b.typedArrayFromHeap(out);
      const inv = b.typedArrayFromHeap(invOut);
      const n = xs.length / channels;
      const sum = new Float64Array(channels);
      const sq = new Float64Array(channels);
      for (let i = 0; i < xs.length; i += channels) {
        for (let c = 0; c < channels; c++) {
          const v = xs[i + c]!;
          sum[c] += v;
          sq[c] += v * v;
        }
      }
      const mean = new Float64Array(channels);
      for (let c = 0; c < channels; c++) {
        mean[c] = sum[c]! / n;
        // Biased variance, as PyTorch normalizes; float64 sums keep E[x^2] - E[x]^2 exact enough.
        inv[c] = 1 / Math.sqrt(Math.max(sq[c]! / n - mean[c]! * mean[c]!, 0) + eps);
      }
      for (let i = 0; i < xs.length; i += channels) {
        for (let c = 0; c < channels; c++) ys[i + c] = (xs[i + c]! - mean[c]!) * inv[c]!;
      }
      return [out, invOut];
    },
  };
}

/** Backward: dx = inv * (dy - mean(dy) - xhat * mean(dy * xhat)), in two passes. */
export function bnBackwardConfig(backendName: string): KernelConfig {
  return {
    kernelName: BN_BACKWARD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, xhat, inv } = inputs as { dy: TensorInfo; xhat: TensorInfo; inv: TensorInfo };
      const b = backend as unknown as HeapBackend;
      const channels = dy.shape[dy.shape.length - 1]!;
      const out = b.makeOutput(dy.shape.slice(), 'float32');
      const g = b.typedArrayFromHeap(dy);
      const xh = b.typedArrayFromHeap(xhat);
      const is = b.typedArrayFromHeap(inv);
      const dx = b.typedArrayFromHeap(out);
      const n = g.length / channels;
      const sg = new Float64Array(channels);
      const sgx = new Float64Array(channels);
      for (let i = 0; i < g.length; i += channels) {
        for (let c = 0; c < channels; c++) {
          const v = g[i + c]!;
          sg[c] += v;
          sgx[c] += v * xh[i + c]!;
        }
      }
      const a = new Float64Array(channels);
      const k = new Float64Array(channels);
      for (let c = 0; c < channels; c++) {
        a[c] = sg[c]! / n;
        k[c] = sgx[c]! / n;
      }
      for (let i = 0; i < g.length; i += channels) {
        for (let c = 0; c < channels; c++) dx[i + c] = is[c]! * (g[i + c]! - a[c]! - xh[i + c]! * k[c]!);
      }
      return out;
    },
  };
}

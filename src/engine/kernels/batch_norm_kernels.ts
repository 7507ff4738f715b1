import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { heapPointer, heapScratch } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import type { HeapBackend } from './heap_backend.js';

/** Kernel names of the fused, non-affine, batch-statistics BatchNorm (channels last). */
export const BN_FORWARD = 'HarmoflBatchNormForward';
export const BN_BACKWARD = 'HarmoflBatchNormBackward';

/** Where a pass also writes ReLU of its output: rows `stride` floats apart from heap byte `ptr`. */
export interface RectifiedTarget {
  ptr: number;
  stride: number;
}

/**
 * Runs BatchNorm's two passes on our SIMD kernels (`assembly/conv_kernels.ts`): per-channel sums
 * of u and u * v in float64, then `perChannel` turns them (and the row count) into the
 * coefficients of out = a * (u - s) + b * v + c, applied in one pass (which also writes ReLU of
 * out to `rect`, if given). `relu` reads u as u * Step(v), ReLU's gradient.
 */
function twoPass(
  backend: HeapBackend,
  u: TensorInfo,
  v: TensorInfo,
  out: TensorInfo,
  relu: boolean,
  perChannel: (sumU: number, sumUV: number, rows: number, c: number) => [a: number, s: number, b: number, c: number],
  rect: RectifiedTarget = { ptr: 0, stride: 0 },
): void {
  const channels = u.shape[u.shape.length - 1]!;
  const rows = u.shape.reduce((p, d) => p * d, 1) / channels;
  // 2 * channels float64 sums, then the 4 * channels float32 coefficients.
  const scratch = heapScratch(backend, 8 * channels);
  const simd = heapKernels(backend);
  const [uPtr, vPtr, outPtr] = [u, v, out].map((t) => heapPointer(backend, t)) as [number, number, number];
  simd.channelSums(uPtr, vPtr, rows, channels, scratch.ptr, relu);
  const view = backend.typedArrayFromHeap(scratch.info);
  const sums = new Float64Array(view.buffer, scratch.ptr, 2 * channels);
  const coef = view.subarray(4 * channels);
  for (let c = 0; c < channels; c++) {
    const k = perChannel(sums[c]!, sums[channels + c]!, rows, c);
    for (let j = 0; j < 4; j++) coef[j * channels + c] = k[j]!;
  }
  simd.channelAffine(uPtr, vPtr, outPtr, rows, channels, scratch.ptr + 4 * channels * 4, relu, rect.ptr, rect.stride);
  backend.disposeData(scratch.info.dataId);
}

/**
 * xhat = (x - mean) / sqrt(var + eps) per channel over all other axes, and 1/std; ReLU of xhat
 * also goes to `rect` when given (ReLU and a copy into a wider tensor in the same pass).
 */
export function bnForward(backend: HeapBackend, x: TensorInfo, eps: number, rect?: RectifiedTarget): [xhat: TensorInfo, inv: TensorInfo] {
  const channels = x.shape[x.shape.length - 1]!;
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  const invOut = backend.makeOutput([channels], 'float32');
  const inv = new Float64Array(channels);
  twoPass(
    backend,
    x,
    x,
    out,
    false,
    (sum, sq, n, c) => {
      const mean = sum / n;
      // Biased variance, as PyTorch normalizes; float64 sums keep E[x^2] - E[x]^2 exact enough.
      inv[c] = 1 / Math.sqrt(Math.max(sq / n - mean * mean, 0) + eps);
      return [inv[c]!, mean, 0, 0];
    },
    rect,
  );
  backend.typedArrayFromHeap(invOut).set(inv);
  return [out, invOut];
}

/** Attributes of the forward kernel: BatchNorm's eps; with `relu`, a third output ReLU(xhat). */
interface BnForwardAttrs {
  eps: number;
  relu?: boolean;
}

/** Forward: outputs xhat and 1/std (`bnForward`), then with attribute `relu` ReLU(xhat) from the same pass. */
export function bnForwardConfig(backendName: string): KernelConfig {
  return {
    kernelName: BN_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs['x'] as TensorInfo;
      const { eps, relu } = attrs as unknown as BnForwardAttrs;
      const b = backend as unknown as HeapBackend;
      if (relu !== true) return bnForward(b, x, eps);
      const rectified = b.makeOutput(x.shape.slice(), 'float32');
      const channels = x.shape[x.shape.length - 1]!;
      return [...bnForward(b, x, eps, { ptr: heapPointer(b, rectified), stride: channels }), rectified];
    },
  };
}

/**
 * Backward: dx = inv * (dy - mean(dy) - xhat * mean(dy * xhat)); with attribute `relu`, dy is
 * first masked by xhat > 0 (the gradient through a ReLU that followed the BatchNorm).
 */
export function bnBackwardConfig(backendName: string): KernelConfig {
  return {
    kernelName: BN_BACKWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, xhat, inv } = inputs as { dy: TensorInfo; xhat: TensorInfo; inv: TensorInfo };
      const b = backend as unknown as HeapBackend;
      const out = b.makeOutput(dy.shape.slice(), 'float32');
      const is = Float64Array.from(b.typedArrayFromHeap(inv));
      twoPass(b, dy, xhat, out, (attrs as { relu?: boolean }).relu === true, (sumG, sumGX, n, c) => [
        is[c]!,
        0,
        (-is[c]! * sumGX) / n,
        (-is[c]! * sumG) / n,
      ]);
      return out;
    },
  };
}

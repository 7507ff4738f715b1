import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { heapPointer, heapScratch } from '../simd_module.js';
import { copyRuns, type HeapBackend } from './heap_backend.js';

/** Where a SIMD kernel reads its input: a heap byte offset, and the scratch tensor to free if one was made. */
export interface PaddedInput {
  ptr: number;
  scratch?: TensorInfo;
}

/**
 * x (NHWC) laid out as the SIMD convolution kernels read it: the plane padded (or cropped) to the
 * hp x wp rows and columns the convolution reads, `ci` floats per pixel (zeros past x's channels).
 * x itself when that is already its layout (unpadded, aligned channels, e.g. DenseNet's 1x1s).
 */
export function paddedInput(
  backend: HeapBackend,
  x: TensorInfo,
  info: backend_util.Conv2DInfo,
  hp: number,
  wp: number,
  ci: number,
): PaddedInput {
  const { batchSize: n, inHeight, inWidth, inChannels, padInfo } = info;
  if (padInfo.top === 0 && padInfo.left === 0 && hp === inHeight && wp === inWidth && ci === inChannels)
    return { ptr: heapPointer(backend, x) };
  const scratch = heapScratch(backend, n * hp * wp * ci);
  // Views after the allocation: it can grow the heap, which detaches earlier views.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(scratch.info);
  dst.fill(0);
  const j0 = Math.max(0, -padInfo.left);
  const j1 = Math.min(inWidth, wp - padInfo.left);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < inHeight; i++) {
      const row = i + padInfo.top;
      if (row < 0 || row >= hp || j1 <= j0) continue;
      const from = ((b * inHeight + i) * inWidth + j0) * inChannels;
      const to = ((b * hp + row) * wp + j0 + padInfo.left) * ci;
      if (ci === inChannels) dst.set(src.subarray(from, from + (j1 - j0) * ci), to);
      else copyRuns(backend, src, from, inChannels, dst, to, ci, inChannels, j1 - j0);
    }
  return { ptr: scratch.ptr, scratch: scratch.info };
}

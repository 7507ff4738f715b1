import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { heapPointer } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import type { HeapBackend } from './heap_backend.js';

/** Where a SIMD kernel reads its input: a heap byte offset, and the scratch tensor to free if one was made. */
export interface PaddedInput {
  ptr: number;
  scratch?: TensorInfo;
}

/**
 * x (NHWC) moved down `top` rows and right `left` columns into a new n x hp x wp x ci tensor, zeros
 * around it and past x's channels (negative amounts crop), by one threaded pass of our kernels.
 */
export function padPlane(backend: HeapBackend, x: TensorInfo, hp: number, wp: number, ci: number, top: number, left: number): TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = backend.makeOutput([n, hp, wp, ci], 'float32');
  heapKernels(backend).padPlane(heapPointer(backend, x), heapPointer(backend, out), n, h, w, c, hp, wp, ci, top, left);
  return out;
}

/**
 * x (NHWC) with `ci` floats per pixel (zeros past x's channels; x itself when it has `ci`), as the
 * Winograd kernels read it: they pad the plane themselves as they read.
 */
export function channelPadded(backend: HeapBackend, x: TensorInfo, ci: number): PaddedInput {
  const [, h, w, c] = x.shape as [number, number, number, number];
  if (c === ci) return { ptr: heapPointer(backend, x) };
  const scratch = padPlane(backend, x, h, w, ci, 0, 0);
  return { ptr: heapPointer(backend, scratch), scratch };
}

/**
 * x (NHWC) laid out as the direct SIMD convolution kernels read it: the plane padded (or cropped) to the
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
  const { inHeight, inWidth, inChannels, padInfo } = info;
  if (padInfo.top === 0 && padInfo.left === 0 && hp === inHeight && wp === inWidth && ci === inChannels)
    return { ptr: heapPointer(backend, x) };
  const scratch = padPlane(backend, x, hp, wp, ci, padInfo.top, padInfo.left);
  return { ptr: heapPointer(backend, scratch), scratch };
}

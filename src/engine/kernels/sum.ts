import { util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { heapPointer, heapScratch } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import type { HeapBackend } from './heap_backend.js';

/**
 * Sum over leading axes (a bias gradient: every axis but the channels) as per-channel column sums
 * on our kernels, in float64. The stock wasm Sum first transposes the reduced axes to the end one
 * element at a time: 138 ms for one U-Net bias gradient at 384x384 that now takes a few. Other
 * reductions go to the stock kernel.
 */
export function sumConfig(backendName: string): KernelConfig {
  return withStockFallback('Sum', backendName, (stock) => (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const k = axes.length;
    const rows = util.sizeFromShape(x.shape.slice(0, k));
    const channels = util.sizeFromShape(x.shape.slice(k));
    if (x.dtype !== 'float32' || k === 0 || axes.some((a, i) => a !== i) || rows * channels === 0) return stock(args);
    const b = args.backend as unknown as HeapBackend;
    const out = b.makeOutput(keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k), 'float32');
    // Sums and sums of squares, float64 (the squares are not used).
    const scratch = heapScratch(b, 4 * channels);
    const xPtr = heapPointer(b, x);
    heapKernels(b).channelSums(xPtr, xPtr, rows, channels, scratch.ptr, false);
    const sums = new Float64Array(b.typedArrayFromHeap(scratch.info).buffer, scratch.ptr, channels);
    b.typedArrayFromHeap(out).set(sums);
    b.disposeData(scratch.info.dataId);
    return out;
  });
}

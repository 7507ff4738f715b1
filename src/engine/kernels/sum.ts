import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { heapPointer, heapScratch } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import type { HeapBackend } from './heap_backend.js';

/** Floats summed per kernel call below which a reduction split by its outer axes goes to the stock kernel. */
const MIN_RUN = 256;

/** Pixels per row a reduction of few channels is read in (their float64 partial sums then added here), most first. */
const GROUPS = [128, 64, 32, 16, 8];

/**
 * x summed over its contiguous axes [k0, k1) (the others kept, in order) in float64, divided by the
 * count for a `mean`, then rounded once to float32, one channelSums call per index of the axes before k0: a bias gradient (leading
 * axes), a global average pool ([1, 2] of NHWC) or a whole tensor (a norm). Undefined when the
 * reduction is not of that form or its runs are too short to beat the stock kernel's call.
 */
function reduceRun(b: HeapBackend, x: TensorInfo, axis: number | number[], keepDims: boolean, mean: boolean): TensorInfo | undefined {
  const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const [k0, k1] = [axes[0] ?? 0, (axes[axes.length - 1] ?? -1) + 1];
  if (x.dtype !== 'float32' || axes.length === 0 || axes.some((a, i) => a !== k0 + i)) return undefined;
  const outer = util.sizeFromShape(x.shape.slice(0, k0));
  const count = util.sizeFromShape(x.shape.slice(k0, k1));
  const channels = util.sizeFromShape(x.shape.slice(k1));
  if (count * channels === 0 || (outer > 1 && count * channels < MIN_RUN)) return undefined;
  // Under 8 channels the kernel sums each down its column, one add after another: read the run
  // as rows of m pixels (m a multiple of 8 that divides it), whose m * channels columns it sums
  // side by side, and add each channel's m partial sums here (a different float64 order than one
  // column, the same for every thread count).
  const m = channels < 8 ? (GROUPS.find((g) => g * channels <= 256 && count % g === 0) ?? 1) : 1;
  const width = m * channels;
  const out = b.makeOutput(
    keepDims ? x.shape.map((d, i) => (i >= k0 && i < k1 ? 1 : d)) : [...x.shape.slice(0, k0), ...x.shape.slice(k1)],
    'float32',
  );
  // Sums and sums of squares, float64 (the squares are not used).
  const scratch = heapScratch(b, 4 * width);
  const kernels = heapKernels(b);
  const xPtr = heapPointer(b, x);
  const sums = new Float64Array(b.typedArrayFromHeap(scratch.info).buffer, scratch.ptr, width);
  const values = b.typedArrayFromHeap(out);
  for (let o = 0; o < outer; o++) {
    const at = xPtr + 4 * o * count * channels;
    kernels.channelSums(at, at, count / m, width, scratch.ptr, false);
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let j = c; j < width; j += channels) sum += sums[j]!;
      values[o * channels + c] = mean ? sum / count : sum;
    }
  }
  b.disposeData(scratch.info.dataId);
  return out;
}

/** A Sum or Mean kernel on reduceRun, the stock kernel for other reductions. */
function reduceConfig(kernelName: 'Sum' | 'Mean', backendName: string): KernelConfig {
  return withStockFallback(kernelName, backendName, (stock): KernelFunc => (args) => {
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    return (
      reduceRun(args.backend as unknown as HeapBackend, args.inputs['x'] as TensorInfo, axis, keepDims, kernelName === 'Mean') ??
      stock(args)
    );
  });
}

/**
 * Sum over a run of adjacent axes as per-channel column sums on our kernels, in float64. The stock
 * wasm Sum first transposes the reduced axes to the end one element at a time (138 ms for one
 * U-Net bias gradient at 384x384 that now takes a few), and sums a whole tensor down one column.
 */
export function sumConfig(backendName: string): KernelConfig {
  return reduceConfig('Sum', backendName);
}

/** Mean likewise: the float64 sum divided by the count, rounded once (DenseNet's global pool took 0.8 ms per call on the stock kernel). */
export function meanConfig(backendName: string): KernelConfig {
  return reduceConfig('Mean', backendName);
}

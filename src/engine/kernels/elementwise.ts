import { util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { heapPointer, heapScratch } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import type { HeapBackend } from './heap_backend.js';

/** The ops of our elementwise kernel, by its op number (the order matters: see assembly/layout_kernels.ts). */
const ELEMENTWISE_OPS = ['Add', 'Sub', 'Multiply', 'Relu'] as const;
type ElementwiseOp = (typeof ELEMENTWISE_OPS)[number];

/** `small` (no higher rank) without its leading 1s is the end of `big`'s shape (a bias, or the same shape): it repeats along big's leading axes. */
function repeatsAlongLeading(big: number[], small: number[]): boolean {
  const first = small.findIndex((d) => d !== 1);
  const tail = first < 0 ? [] : small.slice(first);
  return small.length <= big.length && tail.every((d, i) => d === big[big.length - tail.length + i]);
}

/** Elements of `big` per call below which a per-outer-index split goes to the stock kernel instead. */
const MIN_SPLIT_ELEMENTS = 1024;

/** Floats a short repeating operand is tiled to (when its repetitions allow) before the kernel call. */
const MIN_PATTERN = 256;

/** The most repetitions, at most `most`, that divide `times` (the kernels take a b whose length divides the count). */
function tiling(times: number, most: number): number {
  for (let d = Math.min(most, times); d > 1; d--) if (times % d === 0) return d;
  return 1;
}

/**
 * How `small` repeats over `big` as (outer, inner) runs: for each of `outer` leading indices the
 * two share, small's `inner` floats repeat along big's `bigInner` floats of that index. The fewest
 * shared indices win: none for a bias or the same shape, N for a per-image shift [N, 1, 1, C] of
 * [N, H, W, C]. Undefined when small does not repeat so, or the runs of a split are short.
 */
function outerRuns(big: number[], small: number[]): { outer: number; bigInner: number; inner: number } | undefined {
  if (small.length > big.length) return undefined;
  const padded = [...Array<number>(big.length - small.length).fill(1), ...small];
  for (let k = 0; k === 0 || (k < big.length && padded[k - 1] === big[k - 1]); k++) {
    if (!repeatsAlongLeading(big.slice(k), padded.slice(k))) continue;
    const [outer, bigInner] = [util.sizeFromShape(big.slice(0, k)), util.sizeFromShape(big.slice(k))];
    return outer === 1 || bigInner >= MIN_SPLIT_ELEMENTS ? { outer, bigInner, inner: util.sizeFromShape(padded.slice(k)) } : undefined;
  }
  return undefined;
}

/**
 * float32 Add, Sub, Multiply (same shapes, or the second operand repeating along leading axes, as
 * a bias, or per leading index, as AmpNorm's per-image shift; the first for Add and Multiply) and
 * Relu on our kernels, threaded where native: these run hundreds of times a training step, on
 * activations (the stock kernel broadcasts at 4 ns per element: 3.9 ms for one 32 x 96 x 96 x 3
 * shift). Other cases go to the stock kernel.
 */
function elementwiseConfig(op: ElementwiseOp, backendName: string): KernelConfig {
  const code = ELEMENTWISE_OPS.indexOf(op);
  return withStockFallback(op, backendName, (stock) => (args) => {
    const b = args.backend as unknown as HeapBackend;
    if (op === 'Relu') {
      const x = args.inputs['x'] as TensorInfo;
      if (x.dtype !== 'float32') return stock(args);
      const out = b.makeOutput(x.shape.slice(), 'float32');
      const count = util.sizeFromShape(x.shape);
      const ptr = heapPointer(b, x);
      if (count > 0) heapKernels(b).elementwise(code, ptr, ptr, heapPointer(b, out), count, count);
      return out;
    }
    let { a, b: c } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || c.dtype !== 'float32') return stock(args);
    if (op !== 'Sub' && util.sizeFromShape(c.shape) > util.sizeFromShape(a.shape)) [a, c] = [c, a];
    const count = util.sizeFromShape(a.shape);
    if (count === 0 || util.sizeFromShape(c.shape) === 0) return stock(args);
    const runs = outerRuns(a.shape, c.shape);
    if (runs === undefined) return stock(args);
    const out = b.makeOutput(a.shape.slice(), 'float32');
    const { outer, bigInner, inner } = runs;
    // The kernels go through b in runs of its length; a few floats tiled (a 3-channel shift or
    // bias) make one run of many, where the 3-float runs took 1.8 ms for a 32 x 96 x 96 x 3 shift.
    const reps = inner > 1 ? tiling(bigInner / inner, Math.ceil(MIN_PATTERN / inner)) : 1;
    const pattern = reps > 1 ? heapScratch(b, inner * reps) : undefined;
    const [pa, pc, po] = [heapPointer(b, a), heapPointer(b, c), heapPointer(b, out)];
    const [from, to] = [b.typedArrayFromHeap(c), pattern === undefined ? undefined : b.typedArrayFromHeap(pattern.info)];
    const kernels = heapKernels(b);
    for (let i = 0; i < outer; i++) {
      if (to !== undefined) for (let r = 0; r < reps; r++) to.set(from.subarray(i * inner, (i + 1) * inner), r * inner);
      const pb = pattern === undefined ? pc + 4 * i * inner : pattern.ptr;
      kernels.elementwise(code, pa + 4 * i * bigInner, pb, po + 4 * i * bigInner, bigInner, inner * reps);
    }
    if (pattern !== undefined) b.disposeData(pattern.info.dataId);
    return out;
  });
}

/** Per elementwise op, its kernel config for a backend. */
export const elementwiseConfigs = ELEMENTWISE_OPS.map((op) => (backendName: string) => elementwiseConfig(op, backendName));

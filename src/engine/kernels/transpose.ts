import type { KernelBackend, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { sharedBuffer } from './identity.js';
import { withStockFallback } from './stock_fallback.js';
import { copyRuns, type HeapBackend } from './heap_backend.js';
import { heapPointer } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';

/** Drops size-1 axes and merges axes that stay adjacent and in order under `perm`: the same transpose on fewer axes. */
function collapse(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const kept = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const rank = new Map(kept.map((a, r) => [a, r]));
  const sizes = kept.map((a) => shape[a]!);
  const groups: number[][] = [];
  for (const a of perm.filter((i) => shape[i] !== 1).map((i) => rank.get(i)!)) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1] === a - 1) last.push(a);
    else groups.push([a]);
  }
  const firsts = groups.map((g) => g[0]!).sort((a, b) => a - b);
  const byFirst = new Map(groups.map((g) => [g[0]!, g]));
  return {
    shape: firsts.map((f) => byFirst.get(f)!.reduce((n, a) => n * sizes[a]!, 1)),
    perm: groups.map((g) => firsts.indexOf(g[0]!)),
  };
}

/**
 * [N, A, B, K] -> [N, B, A, K] in runs of K floats: one strided copy along the longest of N, A and
 * B for each index of the other two (U-Net's up-convolution, [4*192, 192, 2, 64]: 384 copies of
 * 768 runs, where a copy per image row made 147,456 calls).
 */
function swapRuns(b: HeapBackend, x: TensorInfo, out: TensorInfo, [n, rowsA, rowsB, k]: [number, number, number, number]): void {
  const [from, to] = [b.typedArrayFromHeap(x), b.typedArrayFromHeap(out)];
  // Each axis: extent, source stride, destination stride (floats).
  const axes: [number, number, number][] = [
    [n, rowsA * rowsB * k, rowsA * rowsB * k],
    [rowsA, rowsB * k, k],
    [rowsB, k, rowsA * k],
  ];
  axes.sort((p, q) => q[0] - p[0]);
  const [[rows, srcStride, dstStride], [e1, s1, t1], [e2, s2, t2]] = axes as [(typeof axes)[0], (typeof axes)[0], (typeof axes)[0]];
  for (let i = 0; i < e1; i++)
    for (let j = 0; j < e2; j++) copyRuns(b, from, i * s1 + j * s2, srcStride, to, i * t1 + j * t2, dstStride, k, rows);
}

/**
 * Transpose of float32 tensors by cache tiles on our kernels (threaded where native). The stock
 * wasm kernel moves one element at a time through generic index arithmetic, 9-15 ns per element;
 * the filter-gradient kernels transpose whole activations, so that was a second or more of a
 * DenseNet-121 step. After merging axes that move together, the permutations these kernels use
 * reduce to: none (only size-1 axes move, e.g. in a 1x1 input gradient: the buffer is shared, as
 * Reshape does), swapping two axes ([1,0]), swapping two axes under a batch ([0,2,1]), swapping
 * two axes around a kept one ([2,1,0]), or swapping two axes above contiguous runs, under a
 * batch or not ([0,2,1,3], [1,0,2]).
 * Anything else goes to the stock kernel.
 */
export function transposeConfig(backendName: string): KernelConfig {
  return withStockFallback('Transpose', backendName, (stock) => (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const perm = (args.attrs as { perm: number[] }).perm;
    if (x.dtype !== 'float32') return stock(args);
    const b = args.backend as unknown as HeapBackend;
    const { shape, perm: p } = collapse(x.shape, perm);
    const key = p.join(',');
    if (!['', '0', '1,0', '0,2,1', '2,1,0', '1,0,2', '0,2,1,3'].includes(key)) return stock(args);
    const outShape = perm.map((a) => x.shape[a]!);
    if (key === '' || key === '0') return sharedBuffer(args.backend as KernelBackend, x, outShape);
    const out = b.makeOutput(outShape, 'float32');
    const [d0 = 1, d1 = 1, d2 = 1] = shape;
    // [A, B, K] is [N, A, B, K] with N = 1.
    if (key === '1,0,2' || key === '0,2,1,3')
      swapRuns(b, x, out, (key === '1,0,2' ? [1, ...shape] : shape) as [number, number, number, number]);
    else {
      const [src, dst] = [heapPointer(b, x), heapPointer(b, out)];
      const kernels = heapKernels(b);
      if (key === '1,0') kernels.transposeTiles(src, dst, 1, d0, d1, 0, d1, 0, d0);
      // [B, R, C] -> [B, C, R]
      else if (key === '0,2,1') kernels.transposeTiles(src, dst, d0, d1, d2, d1 * d2, d2, d1 * d2, d1);
      // [R, M, C] -> [C, M, R]: for each m, an R x C matrix with row stride M*C, written with row stride M*R.
      else kernels.transposeTiles(src, dst, d1, d0, d2, d2, d1 * d2, d0, d1 * d0);
    }
    return out;
  });
}

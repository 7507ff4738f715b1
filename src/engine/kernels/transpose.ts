import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { copyRuns, type HeapBackend } from './heap_backend.js';

/** Side of the square tiles a 2-D transpose moves at a time (both tiles stay in L1). */
const TILE = 32;

/**
 * dst[j, i] = src[i, j] for an R x C matrix read with row stride `srcRow` and written with row
 * stride `dstRow` (elements contiguous along the other axis), tile by tile so both sides stay in
 * cache.
 */
function transpose2d(
  src: Float32Array,
  srcOffset: number,
  srcRow: number,
  dst: Float32Array,
  dstOffset: number,
  dstRow: number,
  rows: number,
  cols: number,
): void {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let j = j0; j < j1; j++) {
        let s = srcOffset + i0 * srcRow + j;
        let d = dstOffset + j * dstRow + i0;
        for (let i = i0; i < i1; i++, s += srcRow) dst[d++] = src[s]!;
      }
    }
  }
}

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
 * Transpose of float32 tensors by cache tiles. The stock wasm kernel moves one element at a time
 * through generic index arithmetic, 9-15 ns per element; the filter-gradient kernels transpose
 * whole activations, so that was a second or more of a DenseNet-121 step. After merging axes that
 * move together, the permutations these kernels use reduce to: swapping two axes ([1,0]), swapping
 * two axes under a batch ([0,2,1]), swapping two axes around a kept one ([2,1,0]), or swapping two
 * axes above contiguous runs ([1,0,2]). Anything else goes to the stock kernel.
 */
export function transposeConfig(backendName: string): KernelConfig {
  return withStockFallback('Transpose', backendName, (stock) => (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const perm = (args.attrs as { perm: number[] }).perm;
    if (x.dtype !== 'float32') return stock(args);
    const b = args.backend as unknown as HeapBackend;
    const { shape, perm: p } = collapse(x.shape, perm);
    const key = p.join(',');
    if (!['', '0', '1,0', '0,2,1', '2,1,0', '1,0,2'].includes(key)) return stock(args);
    const out = b.makeOutput(
      perm.map((a) => x.shape[a]!),
      'float32',
    );
    const src = b.typedArrayFromHeap(x);
    const dst = b.typedArrayFromHeap(out);
    const [d0 = 1, d1 = 1, d2 = 1] = shape;
    if (key === '' || key === '0') dst.set(src);
    else if (key === '1,0') transpose2d(src, 0, d1, dst, 0, d0, d0, d1);
    // [B, R, C] -> [B, C, R]
    else if (key === '0,2,1') for (let i = 0; i < d0; i++) transpose2d(src, i * d1 * d2, d2, dst, i * d1 * d2, d1, d1, d2);
    // [R, M, C] -> [C, M, R]: for each m, an R x C matrix with row stride M*C, written with row stride M*R.
    else if (key === '2,1,0') for (let m = 0; m < d1; m++) transpose2d(src, m * d2, d1 * d2, dst, m * d0, d1 * d0, d0, d2);
    // [A, B, K] -> [B, A, K]: runs of K floats.
    else for (let i = 0; i < d0; i++) copyRuns(b, src, i * d1 * d2, d2, dst, i * d2, d0 * d2, d2, d1);
    return out;
  });
}

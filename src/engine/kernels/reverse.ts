import { util, type KernelBackend, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { sharedBuffer } from './identity.js';
import type { HeapBackend } from './heap_backend.js';
import { withStockFallback } from './stock_fallback.js';

/**
 * Reverse as block copies: everything after the last reversed axis is one contiguous run, so the
 * output is the input's runs in a permuted order. The stock wasm kernel moves one element at a
 * time (about 30 ns each: 1.2 ms for the filter flip of every DenseNet 3x3 input gradient, 0.02 ms
 * here). Reversing the last axis, or non-float32 data, goes to the stock kernel.
 */
export function reverseConfig(backendName: string): KernelConfig {
  return withStockFallback('Reverse', backendName, (stock) => (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const { dims } = args.attrs as { dims: number | number[] };
    const shape = x.shape;
    const axes = util.parseAxisParam(dims, shape).filter((a) => shape[a]! > 1);
    const last = Math.max(-1, ...axes);
    if (last === shape.length - 1 || x.dtype !== 'float32') return stock(args);
    // Only size-1 axes reversed (a 1x1 filter's flip in an input gradient): x itself, shared as Reshape does.
    if (last < 0) return sharedBuffer(args.backend as KernelBackend, x, shape.slice());
    const b = args.backend as unknown as HeapBackend;
    const out = b.makeOutput(shape.slice(), 'float32');
    const src = b.typedArrayFromHeap(x);
    const dst = b.typedArrayFromHeap(out);
    const run = util.sizeFromShape(shape.slice(last + 1));
    const outer = shape.slice(0, last + 1);
    const strides = outer.map((_, i) => util.sizeFromShape(outer.slice(i + 1)));
    const runs = util.sizeFromShape(outer);
    for (let r = 0; r < runs; r++) {
      // The source run: r's multi-index with the reversed axes mirrored.
      let s = 0;
      for (let a = 0; a <= last; a++) {
        const i = Math.floor(r / strides[a]!) % outer[a]!;
        s += (axes.includes(a) ? outer[a]! - 1 - i : i) * strides[a]!;
      }
      dst.set(src.subarray(s * run, (s + 1) * run), r * run);
    }
    return out;
  });
}

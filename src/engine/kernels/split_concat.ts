import { backend_util, util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { copyRuns, type HeapBackend } from './heap_backend.js';
import { withStockFallback } from './stock_fallback.js';

/** Views a tensor split or joined along `axis` as rows of `inner`-float runs. */
function rowsOf(shape: number[], axis: number): { outer: number; inner: number } {
  return { outer: util.sizeFromShape(shape.slice(0, axis)), inner: util.sizeFromShape(shape.slice(axis + 1)) };
}

/** SplitV (concat's gradient) in one pass over the input; other dtypes than float32 go to the stock kernel. */
export function splitVConfig(backendName: string): KernelConfig {
  return withStockFallback('SplitV', backendName, (fallback) => (args) => {
    const x = args.inputs['x'] as TensorInfo;
    if (x.dtype !== 'float32') return fallback(args);
    const backend = args.backend as unknown as HeapBackend;
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const a = util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, a);
    const { outer, inner } = rowsOf(x.shape, a);
    // Allocate first: growing the wasm memory detaches heap views taken earlier.
    const outs = sizes.map((s) => {
      const shape = x.shape.slice();
      shape[a] = s;
      return backend.makeOutput(shape, 'float32');
    });
    const src = backend.typedArrayFromHeap(x);
    const rowLength = x.shape[a]! * inner;
    let begin = 0;
    outs.forEach((out, i) => {
      const s = sizes[i]!;
      copyRuns(backend, src, begin * inner, rowLength, backend.typedArrayFromHeap(out), 0, s * inner, s * inner, outer);
      begin += s;
    });
    return outs;
  });
}

/** Concat in one pass per input; other dtypes than float32 go to the stock kernel. */
export function concatConfig(backendName: string): KernelConfig {
  return withStockFallback('Concat', backendName, (fallback) => (args) => {
    const inputs = Object.values(args.inputs) as TensorInfo[];
    const nonEmpty = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
    if (nonEmpty.length < 2 || nonEmpty.some((t) => t.dtype !== 'float32')) return fallback(args);
    const backend = args.backend as unknown as HeapBackend;
    const a = util.parseAxisParam((args.attrs as { axis: number }).axis, inputs[0]!.shape)[0]!;
    const shapes = nonEmpty.map((t) => t.shape);
    backend_util.assertParamsConsistent(shapes, a);
    const outShape = backend_util.computeOutShape(shapes, a);
    const out = backend.makeOutput(outShape, 'float32');
    // Views only after the allocation (a memory growth detaches earlier ones).
    const dst = backend.typedArrayFromHeap(out);
    const { outer, inner } = rowsOf(outShape, a);
    const rowLength = outShape[a]! * inner;
    let begin = 0;
    for (const t of nonEmpty) {
      const run = t.shape[a]! * inner;
      copyRuns(backend, backend.typedArrayFromHeap(t), 0, run, dst, begin * inner, rowLength, run, outer);
      begin += t.shape[a]!;
    }
    return out;
  });
}

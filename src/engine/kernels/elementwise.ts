import { util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { heapPointer } from '../simd_module.js';
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

/**
 * float32 Add, Sub, Multiply (same shapes, or the second operand repeating along leading axes, as
 * a bias; the first for Add and Multiply) and Relu on our kernels, threaded where native: these
 * run hundreds of times a training step, on activations. Other cases go to the stock kernel.
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
    const bCount = util.sizeFromShape(c.shape);
    if (count === 0 || bCount === 0 || !repeatsAlongLeading(a.shape, c.shape)) return stock(args);
    const out = b.makeOutput(a.shape.slice(), 'float32');
    heapKernels(b).elementwise(code, heapPointer(b, a), heapPointer(b, c), heapPointer(b, out), count, bCount);
    return out;
  });
}

/** Per elementwise op, its kernel config for a backend. */
export const elementwiseConfigs = ELEMENTWISE_OPS.map((op) => (backendName: string) => elementwiseConfig(op, backendName));

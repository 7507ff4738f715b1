import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { HeapBackend } from './kernels/heap_backend.js';
import type { HeapKernels } from './heap_kernels.js';

/** A float32 buffer on the wasm heap: its tensor (to free) and its byte offset (for our kernels). */
export interface HeapBuffer {
  info: TensorInfo;
  ptr: number;
}

let compiled: WebAssembly.Module | undefined;

/**
 * Hands the engine our compiled SIMD kernels (`dist/wasm/conv_kernels.wasm`). The portable core
 * never reads files: the Node entry reads them from disk, a browser would fetch them.
 */
export function provideSimdModule(bytes: Uint8Array | WebAssembly.Module): void {
  compiled = bytes instanceof WebAssembly.Module ? bytes : new WebAssembly.Module(bytes);
}

/** Whether the SIMD kernels were provided. */
export function hasSimdModule(): boolean {
  return compiled !== undefined;
}
const instances = new WeakMap<WebAssembly.Memory, HeapKernels>();

/** Our SIMD kernels bound to `backend`'s heap (the module imports tfjs's wasm memory, so tensors are used in place). */
export function simdKernels(backend: HeapBackend): HeapKernels {
  const memory = backend.wasm.asm?.memory;
  if (memory === undefined)
    throw new Error('the wasm backend does not expose its memory (wasm.asm.memory); this tfjs-backend-wasm version is not supported');
  let exports = instances.get(memory);
  if (exports === undefined) {
    if (compiled === undefined)
      throw new Error(
        'the SIMD kernels were not provided (provideSimdModule); initialise the engine through initBackend of harmofl/node, or pass simdModule to initEngine',
      );
    exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as HeapKernels;
    instances.set(memory, exports);
  }
  return exports;
}

/** Byte offset of a tensor's data on the wasm heap (stable when the heap grows, unlike views). */
export function heapPointer(backend: HeapBackend, info: TensorInfo): number {
  return backend.typedArrayFromHeap(info).byteOffset;
}

/** Allocates a float32 scratch buffer of `floats` on the wasm heap; free it with `backend.disposeData(buffer.info.dataId)`. */
export function heapScratch(backend: HeapBackend, floats: number): HeapBuffer {
  const info = backend.makeOutput([floats], 'float32');
  return { info, ptr: heapPointer(backend, info) };
}

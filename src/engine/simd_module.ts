import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { HeapBackend } from './kernels/heap_backend.js';

/** Exports of `assembly/conv_kernels.ts` and the files it re-exports (compiled by AssemblyScript at build time); pointers are heap byte offsets. */
interface SimdExports {
  filterGrad(
    x: number,
    dy: number,
    out: number,
    scratch: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    rowBlock: number,
  ): void;
  copyRuns(src: number, srcStride: number, dst: number, dstStride: number, runBytes: number, rows: number): void;
  maxPoolGrad(
    x: number,
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    padTop: number,
    padLeft: number,
  ): void;
  avgPoolGradTiled(
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    fh: number,
    fw: number,
    scale: number,
  ): void;
  channelSums(u: number, v: number, rows: number, channels: number, out: number, relu: boolean): void;
  channelAffine(u: number, v: number, out: number, rows: number, channels: number, coef: number, relu: boolean): void;
  winogradFilterGrad(
    x: number,
    dy: number,
    out: number,
    scratch: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    block: number,
  ): void;
  winograd(
    x: number,
    w: number,
    y: number,
    scratch: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    wci: number,
    oh: number,
    ow: number,
    co: number,
    yStride: number,
    block: number,
  ): void;
  conv(
    x: number,
    w: number,
    y: number,
    scratch: number,
    n: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    yStride: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    block: number,
  ): void;
}

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
const instances = new WeakMap<WebAssembly.Memory, SimdExports>();

/** Our SIMD kernels bound to `backend`'s heap (the module imports tfjs's wasm memory, so tensors are used in place). */
export function simdKernels(backend: HeapBackend): SimdExports {
  const memory = backend.wasm.asm?.memory;
  if (memory === undefined)
    throw new Error('the wasm backend does not expose its memory (wasm.asm.memory); this tfjs-backend-wasm version is not supported');
  let exports = instances.get(memory);
  if (exports === undefined) {
    if (compiled === undefined)
      throw new Error(
        'the SIMD kernels were not provided (provideSimdModule); initialise the engine through initBackend of harmofl/node, or pass simdModule to initEngine',
      );
    exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as SimdExports;
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

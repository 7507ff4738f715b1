import type { DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { heapKernels } from '../heap_kernels.js';

/**
 * The part of the wasm backend our kernels use: outputs allocated on, and viewed in, the wasm
 * heap, and that heap's memory (`wasm.asm.memory`, Emscripten's name), which our SIMD module imports.
 */
export interface HeapBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: DataId): boolean;
  wasm: { asm?: { memory?: WebAssembly.Memory } };
}

/**
 * Copies `rows` runs of `run` floats between strided positions of two views of `backend`'s heap,
 * on our SIMD module (`assembly/conv_kernels.ts`): tfjs-wasm's own slice and concat issue one
 * `subarray` + `set` per run, whose fixed cost dominates for the 32-channel runs of DenseNet and
 * U-Net feature maps, and a JS loop over floats is slower still.
 */
export function copyRuns(
  backend: HeapBackend,
  src: Float32Array,
  srcOffset: number,
  srcStride: number,
  dst: Float32Array,
  dstOffset: number,
  dstStride: number,
  run: number,
  rows: number,
): void {
  const heap = backend.wasm.asm?.memory?.buffer;
  if (src.buffer !== heap || dst.buffer !== heap) throw new Error('copyRuns: both arrays must be current views of the wasm heap');
  heapKernels(backend).copyRuns(
    src.byteOffset + srcOffset * 4,
    srcStride * 4,
    dst.byteOffset + dstOffset * 4,
    dstStride * 4,
    run * 4,
    rows,
  );
}

/**
 * Floats between the pixels of a scratch buffer with `channels` channels that kernels write in
 * strided slices: a multiple of 256 gets 16 more. Rows 1 KiB or more apart in a power of two
 * share cache sets, and a convolution adding into such rows ran 1.2-1.3x faster on two threads
 * than on one, against 1.7x with the rows one cache line further apart.
 */
export const strideFor = (channels: number): number => (channels % 256 === 0 ? channels + 16 : channels);

/** v rounded up to a multiple of m (channel counts padded to SIMD widths). */
export const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

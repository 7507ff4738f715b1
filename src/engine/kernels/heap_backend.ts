import type { DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';

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
 * Copies `rows` runs of `run` floats between strided positions. tfjs-wasm's own slice and concat
 * issue one `subarray` + `set` per run, whose fixed cost dominates for the 32-channel runs of
 * DenseNet and U-Net feature maps; short runs go through a plain loop instead.
 */
export function copyRuns(
  src: Float32Array,
  srcOffset: number,
  srcStride: number,
  dst: Float32Array,
  dstOffset: number,
  dstStride: number,
  run: number,
  rows: number,
): void {
  if (run >= 256) {
    for (let r = 0; r < rows; r++) {
      const s = srcOffset + r * srcStride;
      dst.set(src.subarray(s, s + run), dstOffset + r * dstStride);
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    let s = srcOffset + r * srcStride;
    let d = dstOffset + r * dstStride;
    const end = s + run;
    while (s < end) dst[d++] = src[s++]!;
  }
}

/** v rounded up to a multiple of m (channel counts padded to SIMD widths). */
export const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

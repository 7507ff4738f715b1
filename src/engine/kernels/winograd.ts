import type { backend_util } from '@tensorflow/tfjs-core';

/** Tiles per Winograd block: the 16 transformed panels then stay in L1 (measured best for 32-512 channels). */
export const WINOGRAD_BLOCK = 16;

/** Largest share of extra output computed when Winograd's 2x2 tiles overhang an odd plane. */
const WINOGRAD_MAX_WASTE = 1.15;

/**
 * Whether a convolution (and its filter gradient) goes through Winograd F(2x2, 3x3): 3x3, stride 1,
 * no dilation, and an output plane whose 2x2 tiles waste little (DenseNet's 7x7 and 3x3 planes
 * would compute 31% and 78% extra, so they stay direct).
 */
export function useWinograd(info: backend_util.Conv2DInfo): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, outHeight, outWidth } = info;
  if (filterHeight !== 3 || filterWidth !== 3 || strideHeight !== 1 || strideWidth !== 1 || dilationHeight !== 1 || dilationWidth !== 1)
    return false;
  return (4 * Math.ceil(outHeight / 2) * Math.ceil(outWidth / 2)) / (outHeight * outWidth) <= WINOGRAD_MAX_WASTE;
}

/**
 * Scratch floats of the wasm Winograd kernels between `ci` and `co` channels (both padded): the
 * 16 transformed filters (or filter-gradient sums), one block's 16 input and output panels (each
 * row 16 floats longer, `winogradRowBytes` in assembly/conv_kernels.ts), and the edge patches: a
 * 4x4 patch of a tile that overhangs the input is gathered, zeros outside, into four rows of the
 * plane's width (at least 4 pixels; `tilePatch`).
 */
export function winogradScratchFloats(info: backend_util.Conv2DInfo, ci: number, co: number): number {
  return 16 * (ci * co + WINOGRAD_BLOCK * (ci + co) + 32) + (3 * Math.max(info.inWidth, 4) + 4) * ci;
}

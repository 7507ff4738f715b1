import type { Conv2DAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { nhwcConvInfo } from '../kernel_runner.js';
import { heapPointer, heapScratch, type HeapBuffer } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import { copyRuns, roundUp, type HeapBackend } from './heap_backend.js';
import { paddedInput, type PaddedInput } from './padded_input.js';
import { useWinograd, WINOGRAD_BLOCK, winogradPlane } from './winograd.js';

/** Output pixels per block: their input windows stay in cache across all output-channel panels. */
const BLOCK_PIXELS = 64;

/**
 * Forward NHWC convolution on our SIMD kernels (`assembly/conv_kernels.ts`): 3x3 stride-1 by
 * Winograd F(2x2, 3x3) where the plane tiles well, others direct (1.2-2.8x XNNPACK's speed
 * through tfjs on DenseNet and U-Net shapes). The input is padded into scratch only when needed;
 * output channels that are not a multiple of 8 go through a scratch output. Dilated,
 * channels-first or non-float32 convolutions go to the stock kernel.
 */
export function conv2dConfig(backendName: string): KernelConfig {
  return withStockFallback('Conv2D', backendName, (stock) => (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as Conv2DAttrs;
    const dilations = typeof attrs.dilations === 'number' ? [attrs.dilations, attrs.dilations] : attrs.dilations;
    if (attrs.dataFormat !== 'NHWC' || dilations.some((d) => d !== 1) || x.dtype !== 'float32') return stock(args);
    const b = args.backend as unknown as HeapBackend;
    const info = nhwcConvInfo('Conv2D', x.shape, filter.shape, attrs);
    const { batchSize: n, inChannels: ci, outHeight, outWidth, outChannels: co } = info;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const co8 = roundUp(co, 8);
    const pixels = n * outHeight * outWidth;
    const out = b.makeOutput(info.outShape.slice(), 'float32');
    const y = co8 === co ? { info: out, ptr: heapPointer(b, out) } : heapScratch(b, pixels * co8);
    let xIn: PaddedInput;
    let scratch: HeapBuffer;
    if (useWinograd(info)) {
      // Channels padded to 4 for the transforms' f32x4 loads.
      const ci4 = roundUp(ci, 4);
      const [hp, wp] = winogradPlane(info);
      xIn = paddedInput(b, x, info, hp, wp, ci4);
      scratch = heapScratch(b, 16 * (co8 * ci4 + WINOGRAD_BLOCK * (ci4 + co8)));
      heapKernels(b).winograd(
        xIn.ptr,
        heapPointer(b, filter),
        y.ptr,
        scratch.ptr,
        n,
        hp,
        wp,
        ci4,
        ci,
        outHeight,
        outWidth,
        co,
        co8,
        WINOGRAD_BLOCK,
      );
    } else {
      // The padded plane is what the convolution reads.
      const hp = (outHeight - 1) * sh + kh;
      const wp = (outWidth - 1) * sw + kw;
      xIn = paddedInput(b, x, info, hp, wp, ci);
      scratch = heapScratch(b, kh * kw * ci * co8 + BLOCK_PIXELS + 8);
      heapKernels(b).conv(
        xIn.ptr,
        heapPointer(b, filter),
        y.ptr,
        scratch.ptr,
        n,
        hp,
        wp,
        ci,
        outHeight,
        outWidth,
        co,
        co8,
        kh,
        kw,
        sh,
        sw,
        BLOCK_PIXELS,
      );
    }
    if (y.info !== out) {
      copyRuns(b, b.typedArrayFromHeap(y.info), 0, co8, b.typedArrayFromHeap(out), 0, co, co, pixels);
      b.disposeData(y.info.dataId);
    }
    if (xIn.scratch !== undefined) b.disposeData(xIn.scratch.dataId);
    b.disposeData(scratch.info.dataId);
    return out;
  });
}

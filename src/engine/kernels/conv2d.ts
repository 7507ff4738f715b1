import type { Conv2DAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { nhwcConvInfo } from '../kernel_runner.js';
import { heapPointer, heapScratch } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import { copyRuns, roundUp, type HeapBackend } from './heap_backend.js';
import { channelPadded, paddedInput, type PaddedInput } from './padded_input.js';
import { useWinograd, WINOGRAD_BLOCK, winogradScratchFloats } from './winograd.js';

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
    if (useWinograd(info)) {
      // Channels padded to 4 for the transforms' f32x4 loads; the kernel pads the plane as it reads.
      const ci4 = roundUp(ci, 4);
      xIn = channelPadded(b, x, ci4);
      const scratch = heapScratch(b, winogradScratchFloats(info, ci4, co8));
      heapKernels(b).winograd(
        xIn.ptr,
        heapPointer(b, filter),
        y.ptr,
        scratch.ptr,
        n,
        info.inHeight,
        info.inWidth,
        ci4,
        ci,
        outHeight,
        outWidth,
        co,
        co8,
        WINOGRAD_BLOCK,
        info.padInfo.top,
        info.padInfo.left,
      );
      b.disposeData(scratch.info.dataId);
    } else {
      // The padded plane is what the convolution reads.
      const hp = (outHeight - 1) * sh + kh;
      const wp = (outWidth - 1) * sw + kw;
      xIn = paddedInput(b, x, info, hp, wp, ci);
      directConv(b, {
        x: xIn.ptr,
        xStride: ci,
        filter: heapPointer(b, filter),
        y: y.ptr,
        yStride: co8,
        n,
        hp,
        wp,
        ci,
        oh: outHeight,
        ow: outWidth,
        co,
        kh,
        kw,
        sh,
        sw,
        accumulate: false,
      });
    }
    if (y.info !== out) {
      copyRuns(b, b.typedArrayFromHeap(y.info), 0, co8, b.typedArrayFromHeap(out), 0, co, co, pixels);
      b.disposeData(y.info.dataId);
    }
    if (xIn.scratch !== undefined) b.disposeData(xIn.scratch.dataId);
    return out;
  });
}

/** Geometry of a direct convolution: x padded to n x hp x wp x ci, output n x oh x ow x co, kh x kw taps, strides sh, sw. */
export interface DirectConvShape {
  n: number;
  hp: number;
  wp: number;
  ci: number;
  oh: number;
  ow: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
}

/** A direct convolution on heap pointers: x's pixels xStride floats apart, y's yStride. */
export interface DirectConv extends DirectConvShape {
  x: number;
  xStride: number;
  filter: number;
  y: number;
  yStride: number;
  /** Add to y instead of writing it. */
  accumulate: boolean;
}

/** Runs the direct convolution kernel, with the scratch its packed filter needs. */
export function directConv(b: HeapBackend, c: DirectConv): void {
  const scratch = heapScratch(b, c.kh * c.kw * c.ci * roundUp(c.co, 8) + BLOCK_PIXELS + 8);
  heapKernels(b).conv(
    c.x,
    c.filter,
    c.y,
    scratch.ptr,
    c.n,
    c.hp,
    c.wp,
    c.ci,
    c.oh,
    c.ow,
    c.co,
    c.yStride,
    c.kh,
    c.kw,
    c.sh,
    c.sw,
    BLOCK_PIXELS,
    c.accumulate,
    c.xStride,
  );
  b.disposeData(scratch.info.dataId);
}

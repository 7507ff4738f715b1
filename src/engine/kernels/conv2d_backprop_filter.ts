import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { nhwcConvInfo } from '../kernel_runner.js';
import { heapPointer, heapScratch } from '../simd_module.js';
import { heapKernels } from '../heap_kernels.js';
import { copyRuns, roundUp, type HeapBackend } from './heap_backend.js';
import { channelPadded, paddedInput } from './padded_input.js';
import { useWinograd, WINOGRAD_BLOCK, winogradScratchFloats } from './winograd.js';
import type { DirectConvShape } from './conv2d.js';

/** Output pixels per block of the direct kernel: its x and dy rows then stay in L1/L2 across taps. */
const BLOCK_PIXELS = 128;

/**
 * Filter gradient of an NHWC convolution on our SIMD kernels (`assembly/conv_kernels.ts`):
 * Winograd F(3x3, 2x2) for 3x3 stride-1 convolutions on planes that tile well, otherwise direct
 * (each block of rows packed into panels, all taps accumulated). Both read x (padded, channels to
 * a multiple of 4) and dy (channels to a multiple of 8) in NHWC; copies are made only where
 * those layouts differ from the tensors'.
 */
const conv2dBackpropFilterSimd: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { filterShape, ...conv } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, filterShape, conv);
  const { batchSize: n, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const b = backend as unknown as HeapBackend;
  const ci = roundUp(inChannels, 4);
  const co = roundUp(outChannels, 8);
  const taps = kh * kw;
  const pixels = n * outHeight * outWidth;
  const scratch: TensorInfo[] = [];

  let dyPtr = heapPointer(b, dy);
  if (co !== outChannels) {
    const padded = heapScratch(b, pixels * co);
    scratch.push(padded.info);
    dyPtr = padded.ptr;
    const dst = b.typedArrayFromHeap(padded.info);
    dst.fill(0);
    copyRuns(b, b.typedArrayFromHeap(dy), 0, outChannels, dst, 0, co, outChannels, pixels);
  }
  const out = b.makeOutput(filterShape, 'float32');
  const aligned = ci === inChannels && co === outChannels;
  const dw = aligned ? { info: out, ptr: heapPointer(b, out) } : heapScratch(b, taps * ci * co);
  if (!aligned) scratch.push(dw.info);

  if (useWinograd(info)) {
    // Winograd pads the plane as it reads.
    const xIn = channelPadded(b, x, ci);
    if (xIn.scratch !== undefined) scratch.push(xIn.scratch);
    const work = heapScratch(b, winogradScratchFloats(info, ci, co));
    scratch.push(work.info);
    const { inHeight, inWidth, padInfo } = info;
    heapKernels(b).winogradFilterGrad(
      xIn.ptr,
      dyPtr,
      dw.ptr,
      work.ptr,
      n,
      inHeight,
      inWidth,
      ci,
      outHeight,
      outWidth,
      co,
      WINOGRAD_BLOCK,
      padInfo.top,
      padInfo.left,
    );
  } else {
    // The direct kernel reads the padded plane, which also crops what 'valid' never reaches.
    const hp = (outHeight - 1) * sh + kh;
    const wp = (outWidth - 1) * sw + kw;
    const xIn = paddedInput(b, x, info, hp, wp, ci);
    if (xIn.scratch !== undefined) scratch.push(xIn.scratch);
    directFilterGrad(b, { x: xIn.ptr, xStride: ci, dy: dyPtr, dw: dw.ptr, n, hp, wp, ci, oh: outHeight, ow: outWidth, co, kh, kw, sh, sw });
  }

  if (!aligned) {
    const src = b.typedArrayFromHeap(dw.info);
    const dst = b.typedArrayFromHeap(out);
    for (let t = 0; t < taps; t++)
      copyRuns(b, src, t * ci * co, co, dst, t * inChannels * outChannels, outChannels, outChannels, inChannels);
  }
  for (const s of scratch) b.disposeData(s.dataId);
  return out;
};

/**
 * A direct filter gradient on heap pointers: x's pixels xStride floats apart (ci a multiple of
 * 4), dy's co a multiple of 8, dw taps x ci x co.
 */
export interface DirectFilterGrad extends DirectConvShape {
  x: number;
  xStride: number;
  dy: number;
  dw: number;
}

/** Runs the direct filter-gradient kernel, with the panels it packs blocks of rows into. */
export function directFilterGrad(b: HeapBackend, g: DirectFilterGrad): void {
  const rowBlock = Math.max(1, Math.round(BLOCK_PIXELS / g.ow));
  const panels = heapScratch(b, rowBlock * (g.ow * g.co + g.kh * g.wp * g.ci));
  heapKernels(b).filterGrad(
    g.x,
    g.dy,
    g.dw,
    panels.ptr,
    g.n,
    g.hp,
    g.wp,
    g.ci,
    g.oh,
    g.ow,
    g.co,
    g.kh,
    g.kw,
    g.sh,
    g.sw,
    rowBlock,
    g.xStride,
  );
  b.disposeData(panels.info.dataId);
}

/** Kernel config registering the SIMD filter gradient for `backendName`. */
export function conv2dBackpropFilterConfig(backendName: string): KernelConfig {
  return { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: conv2dBackpropFilterSimd };
}

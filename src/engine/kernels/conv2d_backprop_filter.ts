import {
  type backend_util,
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { KernelRunner, nhwcConvInfo } from '../kernel_runner.js';
import type { HeapBackend } from './heap_backend.js';

type ConvInfo = backend_util.Conv2DInfo;

/** Where the im2col GEMM wins (measured on DenseNet and U-Net shapes): planes that padding grows little. */
const IM2COL_MAX_GROWTH = 1.3;
/** Default bound on the im2col chunk (floats): 64 MiB. */
const IM2COL_MAX_FLOATS = 16 * 1024 * 1024;

/**
 * Stride-1 filter gradient as one GEMM over an im2col matrix built from memcpys. With x padded
 * and transposed to xT (Ci x L, L = N * Hp * Wp over the padded plane) and dy zero-padded to the
 * same plane, tap (kh, kw) reads xT shifted by kh * Wp + kw columns, so every row of the im2col
 * matrix A (taps * Ci x P) is one contiguous copy; then dW (taps * Ci x Co) = A * dyp (P x Co), a
 * 1x1 convolution on XNNPACK that packs dy once and comes out already in [kh, kw, ci, co] order.
 * Long planes are cut into column chunks whose products are summed, bounding A's memory.
 */
function im2colFilterGrad(r: KernelRunner, backend: HeapBackend, x: TensorInfo, dy: TensorInfo, info: ConvInfo, filterShape: number[], maxFloats: number): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, padInfo } = info;
  const hp = outHeight + filterHeight - 1;
  const wp = outWidth + filterWidth - 1;
  const plane = batchSize * hp * wp;
  const maxShift = (filterHeight - 1) * wp + filterWidth - 1;
  const xp = r.padOrCrop(x, [
    [0, 0],
    [padInfo.top, hp - inHeight - padInfo.top],
    [padInfo.left, wp - inWidth - padInfo.left],
    [0, 0],
  ]);
  // maxShift zero columns after the plane keep every tap's range in bounds.
  const xT = r.padOrCrop(r.transpose(r.reshape(xp, [plane, inChannels]), [1, 0]), [
    [0, 0],
    [0, maxShift],
  ]);
  const dyp = r.reshape(
    r.padOrCrop(dy, [
      [0, 0],
      [0, hp - outHeight],
      [0, wp - outWidth],
      [0, 0],
    ]),
    [plane, outChannels],
  );
  const taps = filterHeight * filterWidth;
  const rows = taps * inChannels;
  const chunk = Math.max(1, Math.min(plane, Math.floor(maxFloats / rows)));
  const rowStride = plane + maxShift;
  let sum: TensorInfo | undefined;
  for (let c0 = 0; c0 < plane; c0 += chunk) {
    const len = Math.min(chunk, plane - c0);
    // Allocate both operands before viewing the heap: allocation can grow (and detach) it.
    const a = r.track(backend.makeOutput([1, 1, rows, len], 'float32'));
    const b = r.track(backend.makeOutput([1, 1, len, outChannels], 'float32'));
    const src = backend.typedArrayFromHeap(xT);
    const dst = backend.typedArrayFromHeap(a);
    for (let kh = 0; kh < filterHeight; kh++)
      for (let kw = 0; kw < filterWidth; kw++) {
        const shift = kh * wp + kw + c0;
        const row0 = (kh * filterWidth + kw) * inChannels;
        for (let ci = 0; ci < inChannels; ci++) {
          const s = ci * rowStride + shift;
          dst.set(src.subarray(s, s + len), (row0 + ci) * len);
        }
      }
    backend.typedArrayFromHeap(b).set(backend.typedArrayFromHeap(dyp).subarray(c0 * outChannels, (c0 + len) * outChannels));
    const part = r.conv(a, b);
    r.free(a);
    r.free(b);
    if (sum === undefined) sum = part;
    else {
      const previous = sum;
      sum = r.run('Add', { a: previous, b: part });
      r.free(previous);
      r.free(part);
    }
  }
  return r.reshape(sum!, filterShape);
}

/**
 * Filter gradient of an NHWC convolution as forward convolutions, so it runs on the backend's
 * fastest kernel (XNNPACK on wasm). 1x1: one GEMM. Stride 1 on planes where padding to the
 * filter's reach adds little: one im2col GEMM (above). Otherwise, with channels as the batch and
 * the batch as channels,
 *   dW[kh,kw,ci,co] = sum_{oh,ow,n} xT[ci, kh + oh*s, kw + ow*s, n] * dyT[oh, ow, n, co],
 * which is a convolution of xT (C,H,W,N) by dyT (OH,OW,N,Co) with dilation = stride.
 * `im2colMaxFloats` bounds the im2col chunk (tests make it small to exercise chunking).
 */
export function conv2dBackpropFilterViaConv(backendName: string, im2colMaxFloats = IM2COL_MAX_FLOATS): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { filterShape, ...conv } = attrs as unknown as Conv2DBackpropFilterAttrs;
    const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, filterShape, conv);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
    const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
    const r = new KernelRunner(backend as KernelBackend, backendName);
    let out: TensorInfo;
    const stride1 = strideHeight === 1 && strideWidth === 1;
    const planeGrowth = ((outHeight + filterHeight - 1) * (outWidth + filterWidth - 1)) / (outHeight * outWidth);
    if (filterHeight === 1 && filterWidth === 1 && stride1 && padInfo.top === 0 && padInfo.left === 0) {
      // 1x1: dW^T = dy^T x, one GEMM over all pixels. Transposing dy beats transposing x, the
      // wider of the two in DenseNet; BatchMatMul packs x about twice as fast as a 1x1 convolution.
      const p = batchSize * inHeight * inWidth;
      const dyT = r.reshape(r.transpose(r.reshape(dy, [p, outChannels]), [1, 0]), [1, outChannels, p]);
      const g = r.run('BatchMatMul', { a: dyT, b: r.reshape(x, [1, p, inChannels]) }, { transposeA: false, transposeB: false });
      out = r.reshape(r.transpose(r.reshape(g, [outChannels, inChannels]), [1, 0]), filterShape);
    } else if (stride1 && planeGrowth <= IM2COL_MAX_GROWTH) {
      out = im2colFilterGrad(r, backend as unknown as HeapBackend, x, dy, info, filterShape, im2colMaxFloats);
    } else {
      // Rows and columns of the padded input that the convolution actually reads.
      const needH = (outHeight - 1) * strideHeight + filterHeight;
      const needW = (outWidth - 1) * strideWidth + filterWidth;
      const xp = r.padOrCrop(x, [
        [0, 0],
        [padInfo.top, needH - inHeight - padInfo.top],
        [padInfo.left, needW - inWidth - padInfo.left],
        [0, 0],
      ]);
      const xT = r.transpose(xp, [3, 1, 2, 0]);
      const dyT = r.transpose(dy, [1, 2, 0, 3]);
      const g = r.conv(xT, dyT, [strideHeight, strideWidth]);
      out = r.transpose(g, [1, 2, 0, 3]);
    }
    r.dispose(out);
    return out;
  };
}

/** Kernel config registering the convolution-based filter gradient for `backendName`. */
export function conv2dBackpropFilterConfig(backendName: string): KernelConfig {
  return { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: conv2dBackpropFilterViaConv(backendName) };
}

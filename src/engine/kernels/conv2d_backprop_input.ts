import {
  type backend_util,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { KernelRunner, nhwcConvInfo } from '../kernel_runner.js';

/**
 * Input gradient of an NHWC convolution (also the forward pass of a transposed convolution) on
 * the backend's fast forward Conv2D instead of the scalar loop wasm ships.
 * - stride == kernel, no padding (U-Net's 2x2/2 up-convolution): the output blocks do not
 *   overlap, so it is one GEMM (a 1x1 convolution) followed by a depth-to-space reshuffle.
 * - otherwise: dy dilated by the stride, padded, convolved with the spatially flipped filter.
 */
function conv2dBackpropInputViaConv(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { inputShape, ...conv } = attrs as unknown as Conv2DBackpropInputAttrs;
    const info = nhwcConvInfo('Conv2DBackpropInput', inputShape, filter.shape, conv);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo } = info;
    const r = new KernelRunner(backend as KernelBackend, backendName);
    let out: TensorInfo;
    const nonOverlapping =
      sh === kh && sw === kw && padInfo.top === 0 && padInfo.left === 0 && inHeight === outHeight * kh && inWidth === outWidth * kw;
    if (nonOverlapping) {
      const p = batchSize * outHeight * outWidth;
      const w = r.reshape(r.transpose(filter, [3, 0, 1, 2]), [1, 1, outChannels, kh * kw * inChannels]);
      const cols = r.conv(r.reshape(dy, [1, 1, p, outChannels]), w);
      const blocks = r.reshape(cols, [batchSize, outHeight, outWidth, kh, kw, inChannels]);
      out = r.reshape(r.transpose(blocks, [0, 1, 3, 2, 4, 5]), [batchSize, inHeight, inWidth, inChannels]);
    } else {
      let d = dy;
      if (sh > 1 || sw > 1) {
        // Insert stride-1 zeros between rows and columns of dy.
        const spread = r.run(
          'PadV2',
          { x: r.reshape(dy, [batchSize, outHeight, 1, outWidth, 1, outChannels]) },
          {
            paddings: [
              [0, 0],
              [0, 0],
              [0, sh - 1],
              [0, 0],
              [0, sw - 1],
              [0, 0],
            ],
            constantValue: 0,
          },
        );
        d = r.reshape(spread, [batchSize, outHeight * sh, outWidth * sw, outChannels]);
      }
      // Padding so the convolution yields exactly the input size, given to the convolution (whose
      // Winograd path pads as it reads); a negative amount crops d first (rows the forward
      // padding never reached, or trailing zeros of the dilation).
      const [dh, dw] = [d.shape[1]!, d.shape[2]!];
      const [top, left] = [kh - 1 - padInfo.top, kw - 1 - padInfo.left];
      const [bottom, right] = [inHeight + kh - 1 - top - dh, inWidth + kw - 1 - left - dw];
      if (Math.min(top, left, bottom, right) < 0) {
        const [cropTop, cropLeft] = [Math.max(-top, 0), Math.max(-left, 0)];
        const size = [batchSize, dh - cropTop - Math.max(-bottom, 0), dw - cropLeft - Math.max(-right, 0), outChannels];
        d = r.run('Slice', { x: d }, { begin: [0, cropTop, cropLeft, 0], size });
      }
      const pad: backend_util.ExplicitPadding = [
        [0, 0],
        [Math.max(top, 0), Math.max(bottom, 0)],
        [Math.max(left, 0), Math.max(right, 0)],
        [0, 0],
      ];
      const flipped = r.transpose(r.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
      out = r.conv(d, flipped, pad);
    }
    r.dispose(out);
    return out;
  };
}

/** Kernel config registering the convolution-based input gradient for `backendName`. */
export function conv2dBackpropInputConfig(backendName: string): KernelConfig {
  return { kernelName: 'Conv2DBackpropInput', backendName, kernelFunc: conv2dBackpropInputViaConv(backendName) };
}

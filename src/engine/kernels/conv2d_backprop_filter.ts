import {
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { KernelRunner, nhwcConvInfo } from '../kernel_runner.js';

/**
 * Filter gradient of an NHWC convolution as one forward convolution, so it runs on the backend's
 * fastest kernel (XNNPACK on wasm): with channels as the batch and the batch as channels,
 *   dW[kh,kw,ci,co] = sum_{oh,ow,n} xT[ci, kh + oh*s, kw + ow*s, n] * dyT[oh, ow, n, co],
 * which is a convolution of xT (C,H,W,N) by dyT (OH,OW,N,Co) with dilation = stride.
 */
export function conv2dBackpropFilterViaConv(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { filterShape, ...conv } = attrs as unknown as Conv2DBackpropFilterAttrs;
    const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, filterShape, conv);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
    const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
    const r = new KernelRunner(backend as KernelBackend, backendName);
    let out: TensorInfo;
    if (filterHeight === 1 && filterWidth === 1 && strideHeight === 1 && strideWidth === 1 && padInfo.top === 0 && padInfo.left === 0) {
      // 1x1: dW^T = dy^T x, a GEMM over all pixels run as a 1x1 convolution. Transposing dy and
      // packing x as the filter beats transposing x, which is the wider of the two in DenseNet.
      const p = batchSize * inHeight * inWidth;
      const dyT = r.reshape(r.transpose(r.reshape(dy, [p, outChannels]), [1, 0]), [1, 1, outChannels, p]);
      const g = r.conv(dyT, r.reshape(x, [1, 1, p, inChannels]));
      out = r.reshape(r.transpose(r.reshape(g, [outChannels, inChannels]), [1, 0]), filterShape);
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

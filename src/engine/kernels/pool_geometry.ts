import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';

/** Attributes of MaxPoolGrad and AvgPoolGrad. */
export interface PoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The pooling geometry of a pool gradient's input. */
export function poolInfo(input: TensorInfo, attrs: PoolGradAttrs): backend_util.Conv2DInfo {
  const shape = input.shape as [number, number, number, number];
  return backend_util.computePool2DInfo(shape, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

/** The plane arguments our SIMD pool kernels share: n, h, w, c, output h and w, window h and w. */
export function planeArgs(info: backend_util.Conv2DInfo): [number, number, number, number, number, number, number, number] {
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth];
}

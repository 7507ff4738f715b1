import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelRunner, requiredInputs } from '../kernel_runner.js';
import { heapPointer } from '../simd_module.js';
import { copyRuns, strideFor, type HeapBackend } from './heap_backend.js';
import { BN_BACKWARD } from './batch_norm_kernels.js';
import { directConv } from './conv2d.js';
import { directFilterGrad } from './conv2d_backprop_filter.js';
import type { DenseBlockAttrs } from './dense_block_forward.js';

/** Kernel name of a dense block's backward pass under shared normalization. */
export const DENSE_BLOCK_BACKWARD = 'HarmoflDenseBlockBackward';

/**
 * Gradient of the dense block `HarmoflDenseBlockForward` computes, from `dy` (the output's
 * gradient), the layers' weights `w1_{i}`, `w2_{i}` and the forward pass's saved outputs (named
 * by `denseBlockSavedNames`; `normalized` is the output itself when not raw). Autodiff over
 * separate ops would split the concatenation's gradient at every layer and add each 1x1
 * convolution's input gradient to it (a copy and an add the size of the block so far, per layer);
 * here one buffer holds the gradient of the whole normalized concatenation and each layer's input
 * gradient is accumulated into its leading channels by the convolution itself: the same floats
 * added in the same order as autodiff's. Outputs: dx, then dw1 and dw2 of each layer.
 */
const denseBlockBackward =
  (backendName: string): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const { layers, pad, raw } = attrs as unknown as DenseBlockAttrs;
    const b = backend as unknown as HeapBackend;
    const r = new KernelRunner(backend as KernelBackend, backendName);
    const get = requiredInputs(inputs, DENSE_BLOCK_BACKWARD);
    const dy = get('dy');
    const normalized = get('normalized');
    const [n, h, w, channels] = dy.shape as [number, number, number, number];
    const pixels = n * h * w;
    const growth = get('w2_0').shape[3]!;
    const c0 = channels - layers * growth;
    /** Channels [begin, begin + size) of src, whose pixels are `stride` floats apart. */
    const slice = (src: TensorInfo, stride: number, begin: number, size: number): TensorInfo => {
      const out = r.track(b.makeOutput([n, h, w, size], 'float32'));
      copyRuns(b, b.typedArrayFromHeap(src), begin, stride, b.typedArrayFromHeap(out), 0, size, size, pixels);
      return out;
    };
    // Gradient of the normalized concatenation (pixels `gradStride` floats apart, the layers add
    // to it in place). In a raw block only the layers make it: the last layer's writes its
    // channels, the others add to them (its last chunk, never normalized, is never read).
    const gradStride = strideFor(channels);
    const grad = r.track(b.makeOutput([pixels * gradStride], 'float32'));
    // The copy on the kernels' threads: a JS set of the first block's 19 MB took 2.5-2.9 ms on the main thread alone.
    if (!raw) copyRuns(b, b.typedArrayFromHeap(dy), 0, channels, b.typedArrayFromHeap(grad), 0, gradStride, channels, pixels);
    const bnGrad = (g: TensorInfo, name: string): TensorInfo =>
      r.run(BN_BACKWARD, { dy: g, xhat: get(`xhat${name}`), inv: get(`inv${name}`) }, { relu: true });
    /** Gradient of chunk j (0 the input, i + 1 layer i's new features) at channels [begin, begin + size). */
    const chunkGrad = (j: number, begin: number, size: number): TensorInfo => {
      const viaNormalized = !raw || j < layers ? bnGrad(slice(grad, gradStride, begin, size), `${j}`) : undefined;
      if (!raw) return viaNormalized!;
      const direct = slice(dy, channels, begin, size);
      return viaNormalized === undefined ? direct : r.run('Add', { a: viaNormalized, b: direct });
    };
    const conv3 = { strides: [1, 1], pad, dataFormat: 'NHWC' };
    // Geometry of the 1x1 convolutions, which read the leading channels of the normalized buffer in place.
    const shape = { n, hp: h, wp: w, oh: h, ow: w, kh: 1, kw: 1, sh: 1, sw: 1 };
    const outs: TensorInfo[] = [];
    for (let i = layers - 1; i >= 0; i--) {
      const begin = c0 + i * growth;
      const fresh = chunkGrad(i + 1, begin, growth);
      const w2 = get(`w2_${i}`);
      const a2 = get(`a2_${i}`);
      const da2 = r.run('Conv2DBackpropInput', { dy: fresh, filter: w2 }, { ...conv3, inputShape: a2.shape });
      const dw2 = r.run('Conv2DBackpropFilter', { x: a2, dy: fresh }, { ...conv3, filterShape: w2.shape });
      const dc1 = bnGrad(da2, `2_${i}`);
      const w1 = get(`w1_${i}`);
      const bottleneck = w1.shape[3]!;
      const dw1 = r.track(b.makeOutput(w1.shape.slice(), 'float32'));
      directFilterGrad(b, {
        ...shape,
        x: heapPointer(b, normalized),
        xStride: channels,
        ci: begin,
        dy: heapPointer(b, dc1),
        co: bottleneck,
        dw: heapPointer(b, dw1),
      });
      outs.unshift(dw1, dw2);
      // grad[:, :begin] += dc1 w1^T, that convolution's input gradient, in place (= for a raw block's last layer).
      directConv(b, {
        ...shape,
        x: heapPointer(b, dc1),
        xStride: bottleneck,
        ci: bottleneck,
        filter: heapPointer(b, r.transpose(w1, [0, 1, 3, 2])),
        y: heapPointer(b, grad),
        yStride: gradStride,
        co: begin,
        accumulate: !raw || i < layers - 1,
      });
    }
    outs.unshift(chunkGrad(0, 0, c0));
    r.dispose(...outs);
    return outs;
  };

/** Kernel config registering the dense block's backward pass for `backendName`. */
export function denseBlockBackwardConfig(backendName: string): KernelConfig {
  return { kernelName: DENSE_BLOCK_BACKWARD, backendName, kernelFunc: denseBlockBackward(backendName) };
}

import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelRunner, requiredInputs } from '../kernel_runner.js';
import { heapPointer } from '../simd_module.js';
import { copyRuns, type HeapBackend } from './heap_backend.js';
import { BN_FORWARD, bnForward } from './batch_norm_kernels.js';
import { directConv } from './conv2d.js';

/** Kernel name of a dense block's forward pass under shared normalization. */
export const DENSE_BLOCK_FORWARD = 'HarmoflDenseBlockForward';

/** Attributes of the dense block kernels. */
export interface DenseBlockAttrs {
  layers: number;
  /** Padding of each layer's 3x3 convolution (PyTorch's explicit, symmetric). */
  pad: number;
  /** The output is the raw concatenation [x, new_0, ...] instead of its BN-ReLU. */
  raw: boolean;
  /** BatchNorm's eps. */
  eps: number;
  /** Output what the backward pass reads (training); otherwise free it as the pass goes. */
  save: boolean;
}

/**
 * Names of the forward kernel's outputs after the block's output, which the backward pass reads:
 * per chunk j (0 the block's input, i + 1 layer i's new features) `xhat{j}`/`inv{j}`, its
 * normalization (the last chunk of a raw block has none); per layer i `xhat2_{i}`/`inv2_{i}`
 * (the bottleneck's) and `a2_{i}` (its ReLU, the 3x3 convolution's input); in a raw block also
 * `normalized`, BN-ReLU of the concatenation (otherwise the output itself).
 */
export function denseBlockSavedNames(layers: number, raw: boolean): string[] {
  const names = ['xhat0', 'inv0'];
  for (let i = 0; i < layers; i++) {
    names.push(`xhat2_${i}`, `inv2_${i}`, `a2_${i}`);
    if (!raw || i < layers - 1) names.push(`xhat${i + 1}`, `inv${i + 1}`);
  }
  return raw ? [...names, 'normalized'] : names;
}

/**
 * A dense block whose layers read BN-ReLU of the growing concatenation [x, new_0, ...] through a
 * 1x1 convolution (inputs `x`, `w1_{i}`, `w2_{i}`). Every chunk is normalized once, into its
 * channels of one buffer, and each 1x1 convolution reads that buffer's leading channels in
 * place: no concatenation is copied and no per-layer prefix is kept for the backward pass.
 * Outputs: the block's output, then (attribute `save`) `denseBlockSavedNames`.
 */
const denseBlockForward =
  (backendName: string): KernelFunc =>
  ({ inputs, backend, attrs }) => {
    const { layers, pad, raw, eps, save } = attrs as unknown as DenseBlockAttrs;
    const b = backend as unknown as HeapBackend;
    const r = new KernelRunner(backend as KernelBackend, backendName);
    const get = requiredInputs(inputs, DENSE_BLOCK_FORWARD);
    const x = get('x');
    const [n, h, w, c0] = x.shape as [number, number, number, number];
    const growth = get('w2_0').shape[3]!;
    const channels = c0 + layers * growth;
    const pixels = n * h * w;
    const normalized = b.makeOutput([n, h, w, channels], 'float32');
    const concat = raw ? b.makeOutput([n, h, w, channels], 'float32') : undefined;
    // The last chunk of a raw block is never normalized; zeros keep the saved buffer defined (one
    // zero run copied to every pixel on the kernels' threads: a JS fill of the whole first buffer
    // took 2-3 ms per pass).
    if (raw) {
      const zeros = r.track(b.makeOutput([growth], 'float32'));
      b.typedArrayFromHeap(zeros).fill(0);
      copyRuns(b, b.typedArrayFromHeap(zeros), 0, 0, b.typedArrayFromHeap(normalized), channels - growth, channels, growth, pixels);
    }
    const into = (dst: TensorInfo, src: TensorInfo, begin: number): void => {
      const size = src.shape[3]!;
      copyRuns(b, b.typedArrayFromHeap(src), 0, size, b.typedArrayFromHeap(dst), begin, channels, size, pixels);
    };
    const saved: TensorInfo[] = [];
    // Without `save`, each chunk's and layer's intermediates are freed once it is done.
    const keep = (...t: TensorInfo[]): void => void (save ? saved.push(...t) : r.dispose());
    /** BN-ReLU of t into the normalized buffer from channel `begin` (one pass writes both); returns xhat and 1/std. */
    const normalize = (t: TensorInfo, begin: number): TensorInfo[] =>
      bnForward(b, t, eps, { ptr: heapPointer(b, normalized) + 4 * begin, stride: channels }).map((info) => r.track(info));
    keep(...normalize(x, 0));
    if (concat !== undefined) into(concat, x, 0);
    for (let i = 0; i < layers; i++) {
      const begin = c0 + i * growth;
      const w1 = get(`w1_${i}`);
      const bottleneck = w1.shape[3]!;
      const c1 = r.track(b.makeOutput([n, h, w, bottleneck], 'float32'));
      directConv(b, {
        x: heapPointer(b, normalized),
        xStride: channels,
        filter: heapPointer(b, w1),
        y: heapPointer(b, c1),
        yStride: bottleneck,
        n,
        hp: h,
        wp: w,
        ci: begin,
        oh: h,
        ow: w,
        co: bottleneck,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        accumulate: false,
      });
      // xhat, 1/std and a2, the ReLU the 3x3 convolution reads.
      const bottleneckStats = r.runAll(BN_FORWARD, { x: c1 }, { eps, relu: true });
      const a2 = bottleneckStats[2]!;
      const fresh = r.run('Conv2D', { x: a2, filter: get(`w2_${i}`) }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] });
      if (concat !== undefined) into(concat, fresh, begin);
      keep(...bottleneckStats, ...(!raw || i < layers - 1 ? normalize(fresh, begin) : []));
    }
    if (!save) {
      if (concat !== undefined) b.disposeData(normalized.dataId);
      return concat ?? normalized;
    }
    const outs = concat !== undefined ? [concat, ...saved, normalized] : [normalized, ...saved];
    r.dispose(...outs);
    return outs;
  };

/** Kernel config registering the dense block's forward pass for `backendName`. */
export function denseBlockForwardConfig(backendName: string): KernelConfig {
  return { kernelName: DENSE_BLOCK_FORWARD, backendName, kernelFunc: denseBlockForward(backendName) };
}

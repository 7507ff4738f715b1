import { slice_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { withStockFallback } from './stock_fallback.js';
import { padPlane } from './padded_input.js';
import type { HeapBackend } from './heap_backend.js';

/**
 * Zero padding of an NHWC image's rows and columns (DenseNet's padding after its first block) as
 * one threaded pass of our padPlane kernel. Other paddings go to the stock kernel.
 */
export function padV2Config(backendName: string): KernelConfig {
  return withStockFallback('PadV2', backendName, (stock) => (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const { paddings, constantValue } = args.attrs as { paddings: Array<[number, number]>; constantValue: number };
    if (x.dtype !== 'float32' || x.shape.length !== 4 || constantValue !== 0) return stock(args);
    const [batch, rows, cols, channels] = paddings as [[number, number], [number, number], [number, number], [number, number]];
    if (batch[0] !== 0 || batch[1] !== 0 || channels[0] !== 0 || channels[1] !== 0) return stock(args);
    const [, h, w, c] = x.shape as [number, number, number, number];
    return padPlane(args.backend as unknown as HeapBackend, x, h + rows[0] + rows[1], w + cols[0] + cols[1], c, rows[0], cols[0]);
  });
}

/**
 * A window of an NHWC image's rows and columns, all images and channels (the padding's gradient):
 * the stock wasm Slice took 17 ms for DenseNet's [32, 28, 28, 256] crop (42 ms with a second
 * thread idle beside it); padPlane crops it in one threaded pass. Other slices go to the stock kernel.
 */
export function sliceConfig(backendName: string): KernelConfig {
  return withStockFallback('Slice', backendName, (stock) => (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    if (x.dtype !== 'float32' || x.shape.length !== 4) return stock(args);
    const [b, s] = slice_util.parseSliceParams(x as never, begin, size);
    const [n, , , c] = x.shape as [number, number, number, number];
    if (b[0] !== 0 || s[0] !== n || b[3] !== 0 || s[3] !== c || s.some((d) => d === 0)) return stock(args);
    return padPlane(args.backend as unknown as HeapBackend, x, s[1]!, s[2]!, c, -b[1]!, -b[2]!);
  });
}

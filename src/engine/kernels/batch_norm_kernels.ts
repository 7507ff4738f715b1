import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { HeapBackend } from './heap_backend.js';

/** Kernel names of the fused, non-affine, batch-statistics BatchNorm (channels last). */
export const BN_FORWARD = 'HarmoflBatchNormForward';
export const BN_BACKWARD = 'HarmoflBatchNormBackward';

/**
 * Visits x (rows of `channels` floats) in blocks of rows that stay in cache, four channels at a
 * time, so the per-channel state lives in locals: about twice as fast in V8 as a row-major loop
 * that reads and writes per-channel arrays for every element. `visit(begin, end, c, lanes)` gets
 * element indices begin (row start + c), end, and how many channels (1-4) from c to handle.
 */
function forChannelGroups(length: number, channels: number, visit: (begin: number, end: number, c: number, lanes: number) => void): void {
  const step = Math.max(1, Math.floor(BLOCK_FLOATS / channels)) * channels;
  for (let b0 = 0; b0 < length; b0 += step) {
    const end = Math.min(length, b0 + step);
    for (let c = 0; c < channels; c += 4) visit(b0 + c, end, c, Math.min(4, channels - c));
  }
}

/** Rows per block times channels: 64 KiB of floats, within L2. */
const BLOCK_FLOATS = 16384;

/**
 * Forward: xhat = (x - mean) / sqrt(var + eps) per channel over all other axes, plus 1/std.
 * Two passes over x (sums in float64, then the write) instead of the ~6 of op-by-op tfjs,
 * blocked by channel groups (see forChannelGroups).
 */
export function bnForwardConfig(backendName: string): KernelConfig {
  return {
    kernelName: BN_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs['x'] as TensorInfo;
      const eps = (attrs as { eps: number }).eps;
      const b = backend as unknown as HeapBackend;
      const channels = x.shape[x.shape.length - 1]!;
      const out = b.makeOutput(x.shape.slice(), 'float32');
      const invOut = b.makeOutput([channels], 'float32');
      const xs = b.typedArrayFromHeap(x);
      const ys = b.typedArrayFromHeap(out);
      const inv = b.typedArrayFromHeap(invOut);
      const n = xs.length / channels;
      const [sum, sq] = channelSums(xs, xs, channels);
      const mean = new Float64Array(channels);
      for (let c = 0; c < channels; c++) {
        mean[c] = sum[c]! / n;
        // Biased variance, as PyTorch normalizes; float64 sums keep E[x^2] - E[x]^2 exact enough.
        inv[c] = 1 / Math.sqrt(Math.max(sq[c]! / n - mean[c]! * mean[c]!, 0) + eps);
      }
      forChannelGroups(xs.length, channels, (begin, end, c, lanes) => {
        if (lanes === 4) {
          const m0 = mean[c]!, m1 = mean[c + 1]!, m2 = mean[c + 2]!, m3 = mean[c + 3]!;
          const k0 = inv[c]!, k1 = inv[c + 1]!, k2 = inv[c + 2]!, k3 = inv[c + 3]!;
          for (let i = begin; i < end; i += channels) {
            ys[i] = (xs[i]! - m0) * k0;
            ys[i + 1] = (xs[i + 1]! - m1) * k1;
            ys[i + 2] = (xs[i + 2]! - m2) * k2;
            ys[i + 3] = (xs[i + 3]! - m3) * k3;
          }
          return;
        }
        for (let k = 0; k < lanes; k++) for (let i = begin + k; i < end; i += channels) ys[i] = (xs[i]! - mean[c + k]!) * inv[c + k]!;
      });
      return [out, invOut];
    },
  };
}

/** Backward: dx = inv * (dy - mean(dy) - xhat * mean(dy * xhat)), in two passes. */
export function bnBackwardConfig(backendName: string): KernelConfig {
  return {
    kernelName: BN_BACKWARD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, xhat, inv } = inputs as { dy: TensorInfo; xhat: TensorInfo; inv: TensorInfo };
      const b = backend as unknown as HeapBackend;
      const channels = dy.shape[dy.shape.length - 1]!;
      const out = b.makeOutput(dy.shape.slice(), 'float32');
      const g = b.typedArrayFromHeap(dy);
      const xh = b.typedArrayFromHeap(xhat);
      const is = b.typedArrayFromHeap(inv);
      const dx = b.typedArrayFromHeap(out);
      const n = g.length / channels;
      const [sg, sgx] = channelSums(g, xh, channels);
      const a = new Float64Array(channels);
      const k = new Float64Array(channels);
      for (let c = 0; c < channels; c++) {
        a[c] = sg[c]! / n;
        k[c] = sgx[c]! / n;
      }
      // dx = inv * g - (inv * k) * xhat - inv * a, per channel.
      const p = Float64Array.from(is);
      const q = p.map((v, c) => v * k[c]!);
      const r = p.map((v, c) => v * a[c]!);
      forChannelGroups(g.length, channels, (begin, end, c, lanes) => {
        if (lanes === 4) {
          const p0 = p[c]!, p1 = p[c + 1]!, p2 = p[c + 2]!, p3 = p[c + 3]!;
          const q0 = q[c]!, q1 = q[c + 1]!, q2 = q[c + 2]!, q3 = q[c + 3]!;
          const r0 = r[c]!, r1 = r[c + 1]!, r2 = r[c + 2]!, r3 = r[c + 3]!;
          for (let i = begin; i < end; i += channels) {
            dx[i] = p0 * g[i]! - q0 * xh[i]! - r0;
            dx[i + 1] = p1 * g[i + 1]! - q1 * xh[i + 1]! - r1;
            dx[i + 2] = p2 * g[i + 2]! - q2 * xh[i + 2]! - r2;
            dx[i + 3] = p3 * g[i + 3]! - q3 * xh[i + 3]! - r3;
          }
          return;
        }
        for (let j = 0; j < lanes; j++) for (let i = begin + j; i < end; i += channels) dx[i] = p[c + j]! * g[i]! - q[c + j]! * xh[i]! - r[c + j]!;
      });
      return out;
    },
  };
}

/** Per-channel sums of u and of u * v over all rows, in float64 (v = u gives the sums of squares). */
function channelSums(u: Float32Array, v: Float32Array, channels: number): [Float64Array, Float64Array] {
  const su = new Float64Array(channels);
  const suv = new Float64Array(channels);
  forChannelGroups(u.length, channels, (begin, end, c, lanes) => {
    if (lanes === 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
      for (let i = begin; i < end; i += channels) {
        const a = u[i]!, b = u[i + 1]!, d = u[i + 2]!, e = u[i + 3]!;
        s0 += a;
        s1 += b;
        s2 += d;
        s3 += e;
        q0 += a * v[i]!;
        q1 += b * v[i + 1]!;
        q2 += d * v[i + 2]!;
        q3 += e * v[i + 3]!;
      }
      addTo(su, c, s0, s1, s2, s3);
      addTo(suv, c, q0, q1, q2, q3);
      return;
    }
    for (let k = 0; k < lanes; k++)
      for (let i = begin + k; i < end; i += channels) {
        su[c + k] += u[i]!;
        suv[c + k] += u[i]! * v[i]!;
      }
  });
  return [su, suv];
}

/** acc[c..c+3] += the four values. */
function addTo(acc: Float64Array, c: number, v0: number, v1: number, v2: number, v3: number): void {
  acc[c] += v0;
  acc[c + 1] += v1;
  acc[c + 2] += v2;
  acc[c + 3] += v3;
}

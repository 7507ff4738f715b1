import * as tf from '@tensorflow/tfjs-core';
import { BN_BACKWARD, BN_FORWARD } from '../engine/kernels/batch_norm_kernels.js';
import type { Scope } from './params.js';

/** Eps of PyTorch's BatchNorm, which the reference keeps. */
export const BN_EPS = 1e-5;

const hasFusedKernels = (): boolean => tf.getKernel(BN_FORWARD, tf.getBackend()) !== undefined;

/** xhat and 1/std of x with batch statistics: the fused kernel where registered, tf ops elsewhere. */
function normalize(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (hasFusedKernels()) return tf.engine().runKernel(BN_FORWARD, { x }, { eps: BN_EPS }) as unknown as [tf.Tensor, tf.Tensor];
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const inv = tf.rsqrt(tf.add(variance, BN_EPS));
    return [tf.mul(tf.sub(x, mean), inv), inv];
  });
}

/**
 * dx of the normalization from dy, xhat and 1/std; `relu` first takes dy through a ReLU applied to
 * xhat (dy * Step(xhat), as tfjs's own ReLU gradient).
 */
function normalizeGrad(dy: tf.Tensor, xhat: tf.Tensor, inv: tf.Tensor, relu: boolean): tf.Tensor {
  if (hasFusedKernels()) return tf.engine().runKernel(BN_BACKWARD, { dy, xhat, inv }, { relu }) as tf.Tensor;
  return tf.tidy(() => {
    const g = relu ? tf.mul(dy, tf.step(xhat)) : dy;
    const meanDy = tf.mean(g, [0, 1, 2]);
    const meanDyXhat = tf.mean(tf.mul(g, xhat), [0, 1, 2]);
    return tf.mul(inv, tf.sub(tf.sub(g, meanDy), tf.mul(xhat, meanDyXhat)));
  });
}

/** BatchNorm (then ReLU when `relu`) as one differentiable op with the closed-form gradient. */
function batchNormOp(relu: boolean): (x: tf.Tensor4D) => tf.Tensor4D {
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [xhat, inv] = normalize(x);
    save([xhat, inv]);
    return {
      value: relu ? tf.relu(xhat) : xhat,
      // tfjs runs a custom gradient outside any tidy: without one, temporaries would live until
      // the whole backward pass ends.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => normalizeGrad(dy, saved[0]!, saved[1]!, relu)),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * BatchNorm without affine parameters or running statistics (the reference's models): always
 * the current batch's mean and biased variance over N, H, W, with the closed-form gradient
 * dx = inv * (dy - mean(dy) - xhat * mean(dy * xhat)) instead of op-by-op autodiff.
 */
export const batchNorm: (x: tf.Tensor4D) => tf.Tensor4D = batchNormOp(false);

/**
 * BatchNorm then ReLU, the pair both reference models use everywhere, with ReLU's gradient folded
 * into BatchNorm's (one pass over dy fewer, and no Step, Cast and Multiply kernels).
 */
export const bnRelu: (x: tf.Tensor4D) => tf.Tensor4D = batchNormOp(true);

/** PyTorch's BatchNorm running-statistics momentum. */
export const BN_MOMENTUM = 0.1;

/**
 * A named BatchNorm layer. Non-affine (the reference's models): no entries, batch statistics
 * always. Affine (FedBN's models): `weight`, `bias`, `running_mean`, `running_var` as PyTorch,
 * batch statistics while training (running ones updated, unbiased variance), running ones in eval.
 */
export class BatchNorm2d {
  private readonly affine: { weight: tf.Variable; bias: tf.Variable; mean: tf.Variable; variance: tf.Variable } | undefined;

  constructor(scope: Scope, channels: number, affine: boolean) {
    const add = (leaf: string, fill: number, trainable: boolean): tf.Variable =>
      scope.store.add(scope.name(leaf), [channels], new Float32Array(channels).fill(fill), trainable, 'same', true);
    this.affine = affine
      ? {
          weight: add('weight', 1, true),
          bias: add('bias', 0, true),
          mean: add('running_mean', 0, false),
          variance: add('running_var', 1, false),
        }
      : undefined;
  }

  /** Normalizes an NHWC batch. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const a = this.affine;
    if (a === undefined) return batchNorm(x);
    if (!training)
      return tf.batchNorm4d(x, a.mean as tf.Tensor1D, a.variance as tf.Tensor1D, a.bias as tf.Tensor1D, a.weight as tf.Tensor1D, BN_EPS);
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const n = x.size / x.shape[3];
      a.mean.assign(tf.add(tf.mul(a.mean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
      a.variance.assign(tf.add(tf.mul(a.variance, 1 - BN_MOMENTUM), tf.mul(variance, (BN_MOMENTUM * n) / Math.max(n - 1, 1))));
    });
    return tf.add(tf.mul(batchNorm(x), a.weight), a.bias);
  }

  /** BatchNorm then ReLU. */
  relu(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.affine === undefined ? bnRelu(x) : tf.relu(this.apply(x, training));
  }
}

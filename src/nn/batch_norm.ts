import * as tf from '@tensorflow/tfjs-core';

/** Eps of PyTorch's BatchNorm, which the reference keeps. */
export const BN_EPS = 1e-5;

/**
 * BatchNorm without affine parameters or running statistics (the reference's models): always
 * the current batch's mean and biased variance over N, H, W. A fused gradient replaces tfjs's
 * op-by-op autodiff of moments: dx = inv * (dy - mean(dy) - xhat * mean(dy * xhat)).
 */
export const batchNorm: (x: tf.Tensor4D) => tf.Tensor4D = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  // Only xhat and 1/std outlive the forward pass.
  const [xhat, inv] = tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const iv = tf.rsqrt(tf.add(variance, BN_EPS));
    return [tf.mul(tf.sub(x, mean), iv), iv];
  });
  save([xhat!, inv!]);
  return {
    value: xhat!,
    // tfjs runs a custom gradient outside any tidy: without one, these temporaries would live
    // until the whole backward pass ends.
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [xh, iv] = saved as [tf.Tensor, tf.Tensor];
        const meanDy = tf.mean(dy, [0, 1, 2]);
        const meanDyXhat = tf.mean(tf.mul(dy, xh), [0, 1, 2]);
        return tf.mul(iv, tf.sub(tf.sub(dy, meanDy), tf.mul(xh, meanDyXhat)));
      }),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor4D) => tf.Tensor4D;

/** BatchNorm then ReLU, the pair both reference models use everywhere. */
export function bnRelu(x: tf.Tensor4D): tf.Tensor4D {
  return tf.relu(batchNorm(x));
}

import * as tf from '@tensorflow/tfjs-core';

/** Row-wise cosine similarity of two [N, D] matrices. */
function cosine(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.div(tf.sum(tf.mul(a, b), 1), tf.add(tf.mul(tf.norm(a, 'euclidean', 1), tf.norm(b, 'euclidean', 1)), 1e-8)) as tf.Tensor1D;
}

/**
 * MOON's model-contrastive loss (Li, He, Song 2021): -log(e^{sim(z,zg)/tau} / (e^{sim(z,zg)/tau} +
 * e^{sim(z,zp)/tau})), averaged over the batch; written as softplus((sim(z,zp) - sim(z,zg))/tau), which is stable.
 */
export function modelContrastiveLoss(z: tf.Tensor2D, zGlobal: tf.Tensor2D, zPrevious: tf.Tensor2D, tau: number): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.div(tf.sub(cosine(z, zPrevious), cosine(z, zGlobal)), tau))) as tf.Scalar);
}

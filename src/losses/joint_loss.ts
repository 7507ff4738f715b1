import * as tf from '@tensorflow/tfjs-core';
import { DICE_SMOOTH } from './dice.js';

/** The joint loss of a batch and its gradient with respect to the logits. */
export interface LossAndGradient {
  loss: number;
  /** d loss / d logits, laid out as the logits. */
  grad: Float32Array;
}

/** Per-class sums of a batch's softmax: intersection with the labels, predicted mass, label count. */
interface ClassSums {
  inter: Float64Array;
  predicted: Float64Array;
  truth: Float64Array;
}

/** Writes softmax(logits) to p and accumulates the class sums; returns the summed -log p at the labels. */
function softmaxPass(logits: Float32Array, labels: ArrayLike<number>, classes: number, p: Float32Array, sums: ClassSums): number {
  const { inter, predicted, truth } = sums;
  // Each pixel's exp-sum lies in [1, classes]: their product over `chunk` pixels stays below
  // 2^1000, so one Math.log per chunk serves instead of one per pixel (half this pass's time).
  const chunk = Math.floor(1000 / Math.log2(Math.max(classes, 2)));
  let ce = 0;
  let product = 1;
  for (let i = 0, o = 0, k = 0; i < labels.length; i++, o += classes) {
    const t = labels[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < classes))
      throw new RangeError(`joint loss: label ${t} at pixel ${i} is not a class index in [0, ${classes}); check the mask values`);
    let top = 0;
    for (let c = 1; c < classes; c++) if (logits[o + c]! > logits[o + top]!) top = c;
    const max = logits[o + top]!;
    // exp(0) = 1 at the maximum: one exp fewer per pixel (half of them for two classes).
    let sum = 1;
    for (let c = 0; c < classes; c++) if (c !== top) sum += p[o + c] = Math.exp(logits[o + c]! - max);
    p[o + top] = 1;
    // -log softmax at the label, from the log-sum-exp; the logs come in with the product.
    ce += max - logits[o + t]!;
    product *= sum;
    if (++k === chunk) {
      ce += Math.log(product);
      product = 1;
      k = 0;
    }
    const inv = 1 / sum;
    for (let c = 0; c < classes; c++) predicted[c] += p[o + c] = p[o + c]! * inv;
    inter[t] += p[o + t]!;
    truth[t]! += 1;
  }
  return ce + Math.log(product);
}

/** Overwrites p with the gradient of both terms through the softmax: CE's (p - onehot) / M, Dice's p (g - <g, p>) with g = a + b [t = c]; halved. */
function gradientPass(p: Float32Array, labels: ArrayLike<number>, classes: number, a: Float64Array, b: Float64Array): void {
  const m = labels.length;
  for (let i = 0, o = 0; i < m; i++, o += classes) {
    const t = labels[i]!;
    let dot = b[t]! * p[o + t]!;
    for (let c = 0; c < classes; c++) dot += a[c]! * p[o + c]!;
    for (let c = 0; c < classes; c++) {
      const pc = p[o + c]!;
      const hit = c === t ? 1 : 0;
      p[o + c] = 0.5 * ((pc - hit) / m + pc * (a[c]! + b[c]! * hit - dot));
    }
  }
}

/**
 * (cross-entropy + soft Dice) / 2 and its gradient, in two passes over logits [M, C] (row-major)
 * and labels [M]. Written out by hand because the same loss as tfjs ops takes about 40 kernels
 * forward and backward (several of them broadcasting, single-threaded): on unet32 they cost
 * 190 ms per loss, against about 40 ms here (mostly Math.exp). Sums are float64;
 * each pass is its own function so V8 optimizes each loop with its own type feedback.
 */
export function jointLossAndGradient(logits: Float32Array, labels: ArrayLike<number>, classes: number): LossAndGradient {
  const m = labels.length;
  if (logits.length !== m * classes) throw new Error(`joint loss: ${logits.length} logits do not match ${m} labels of ${classes} classes`);
  const p = new Float32Array(logits.length);
  const sums: ClassSums = { inter: new Float64Array(classes), predicted: new Float64Array(classes), truth: new Float64Array(classes) };
  const ce = softmaxPass(logits, labels, classes, p, sums);
  // Dice_c = (2 I_c + s) / (U_c + s); its derivative in p[i][c] is (2 [t_i = c] - Dice_c) / (U_c + s).
  // The Dice term is 1 - mean_c Dice_c, so d/dp[i][c] = a_c + b_c [t_i = c].
  const a = new Float64Array(classes);
  const b = new Float64Array(classes);
  let diceSum = 0;
  for (let c = 0; c < classes; c++) {
    const union = sums.predicted[c]! + sums.truth[c]! + DICE_SMOOTH;
    const dice = (2 * sums.inter[c]! + DICE_SMOOTH) / union;
    diceSum += dice;
    a[c] = dice / (classes * union);
    b[c] = -2 / (classes * union);
  }
  gradientPass(p, labels, classes, a, b);
  return { loss: 0.5 * (ce / m + 1 - diceSum / classes), grad: p };
}

/** The reference's segmentation training loss, (cross-entropy + soft Dice) / 2, of logits [N, H, W, C] and class indices [N, H, W]. */
export function jointLoss(logits: tf.Tensor4D, target: tf.Tensor3D): tf.Scalar {
  const labels = target.dataSync();
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const { loss, grad } = jointLossAndGradient(z.dataSync() as Float32Array, labels, logits.shape[3]);
    const g = tf.tensor(grad, logits.shape, 'float32');
    save([g]);
    return { value: tf.scalar(loss), gradFunc: (dy, saved) => tf.mul(dy, saved[0]!) };
  });
  return tf.tidy(() => loss(logits) as tf.Scalar);
}

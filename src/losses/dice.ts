import * as tf from '@tensorflow/tfjs-core';

/** Smoothing of the reference's Dice terms: keeps empty masks finite. */
export const DICE_SMOOTH = 1e-5;

/**
 * Soft Dice loss of the reference (`DiceLoss`): softmax probabilities against one-hot targets,
 * summed over the whole batch per class, Dice per class with smoothing, 1 - mean over classes.
 * logits NHWC [N, H, W, C], target [N, H, W] of class indices.
 */
export function softDiceLoss(logits: tf.Tensor4D, target: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[3];
    const p = tf.softmax(logits);
    const t = tf.oneHot(tf.cast(target, 'int32'), classes);
    const inter = tf.sum(tf.mul(p, t), [0, 1, 2]);
    const union = tf.add(tf.sum(p, [0, 1, 2]), tf.sum(t, [0, 1, 2]));
    const dice = tf.div(tf.add(tf.mul(inter, 2), DICE_SMOOTH), tf.add(union, DICE_SMOOTH));
    return tf.sub(1, tf.mean(dice)) as tf.Scalar;
  });
}

/** Per-image, per-class overlap counts of argmax predictions: [N, C] each. */
function hardCounts(
  logits: tf.Tensor4D,
  target: tf.Tensor3D,
): { inter: Float32Array; pred: Float32Array; truth: Float32Array; n: number; c: number } {
  const [n, , , c] = logits.shape;
  const [inter, pred, truth] = tf.tidy(() => {
    const p = tf.oneHot(tf.argMax(logits, 3), c);
    const t = tf.oneHot(tf.cast(target, 'int32'), c);
    return [tf.sum(tf.mul(p, t), [1, 2]), tf.sum(p, [1, 2]), tf.sum(t, [1, 2])];
  });
  const out = {
    inter: inter!.dataSync() as Float32Array,
    pred: pred!.dataSync() as Float32Array,
    truth: truth!.dataSync() as Float32Array,
    n,
    c,
  };
  tf.dispose([inter!, pred!, truth!]);
  return out;
}

/** Per-class mean over images of a per-image score built from the overlap counts. */
function perClassMean(logits: tf.Tensor4D, target: tf.Tensor3D, score: (inter: number, pred: number, truth: number) => number): number[] {
  const { inter, pred, truth, n, c } = hardCounts(logits, target);
  return Array.from({ length: c }, (_, k) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += score(inter[i * c + k]!, pred[i * c + k]!, truth[i * c + k]!);
    return s / n;
  });
}

const dice = (i: number, p: number, t: number): number => (2 * i + DICE_SMOOTH) / (p + t + DICE_SMOOTH);
const iou = (i: number, p: number, t: number): number => (i + DICE_SMOOTH) / (p + t - i + DICE_SMOOTH);

/** Per-class hard Dice (argmax, per image, averaged over images): index 0 is background. */
export function dicePerClass(logits: tf.Tensor4D, target: tf.Tensor3D): number[] {
  return perClassMean(logits, target, dice);
}

/** The reference's Dice coefficient: per-class hard Dice averaged over classes, background included. */
export function diceCoefficient(logits: tf.Tensor4D, target: tf.Tensor3D): number {
  const d = dicePerClass(logits, target);
  return d.reduce((a, b) => a + b, 0) / d.length;
}

/** Foreground Dice and IoU (classes 1..C-1 averaged), reported beside the reference metric. */
export function foregroundScores(logits: tf.Tensor4D, target: tf.Tensor3D): { dice: number; iou: number } {
  const fg = (xs: number[]): number => xs.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, xs.length - 1);
  return { dice: fg(perClassMean(logits, target, dice)), iou: fg(perClassMean(logits, target, iou)) };
}

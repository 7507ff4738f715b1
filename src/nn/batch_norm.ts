import * as tf from '@tensorflow/tfjs-core';
import { BN_BACKWARD, BN_FORWARD } from '../engine/kernels/batch_norm_kernels.js';
import type { NamedArrays } from '../engine/named_arrays.js';
import type { ParamStore, Scope } from './params.js';

/** Eps of PyTorch's BatchNorm, which the reference keeps. */
export const BN_EPS = 1e-5;

const hasFusedKernels = (): boolean => tf.getKernel(BN_FORWARD, tf.getBackend()) !== undefined;

/**
 * xhat and 1/std of x with batch statistics, and the op's value: xhat, or ReLU(xhat) when `relu`
 * (from the fused kernel's one pass where registered, tf ops elsewhere).
 */
function normalize(x: tf.Tensor, relu: boolean): [xhat: tf.Tensor, inv: tf.Tensor, value: tf.Tensor] {
  if (hasFusedKernels()) {
    const [xhat, inv, rectified] = tf.engine().runKernel(BN_FORWARD, { x }, { eps: BN_EPS, relu }) as unknown as tf.Tensor[];
    return [xhat!, inv!, rectified ?? xhat!];
  }
  const [xhat, inv] = tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const inv = tf.rsqrt(tf.add(variance, BN_EPS));
    return [tf.mul(tf.sub(x, mean), inv), inv];
  });
  return [xhat, inv, relu ? tf.relu(xhat) : xhat];
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
    const [xhat, inv, value] = normalize(x, relu);
    save([xhat, inv]);
    return {
      value,
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
const BN_MOMENTUM = 0.1;

/** How non-affine BatchNorm normalizes outside training: the current batch (the reference) or calibrated statistics. */
export type Normalization = 'batch' | 'calibrated';

/** Population statistics of one BatchNorm layer's input, per channel. */
export interface BnStatistics {
  mean: Float32Array;
  variance: Float32Array;
}

/** Receives one BatchNorm layer's batch moments (biased variance) and pixel count during a calibration pass. */
export type MomentsRecorder = (layer: string, mean: Float32Array, variance: Float32Array, count: number) => void;

/**
 * A model's non-affine BatchNorm layers and how they normalize in evaluation. Calibrated
 * statistics are not trained state: they live here rather than in the ParamStore, so aggregation,
 * checkpoints and `loadState` never see them. Their file names are FedBN's
 * (`<layer>.running_mean`, `<layer>.running_var`), so a calibrated model reads as PyTorch's.
 */
class NormalizationControl {
  mode: Normalization = 'batch';
  /** Set during a calibration pass. */
  recorder: MomentsRecorder | undefined;
  readonly layers: string[] = [];
  readonly statistics = new Map<string, BnStatistics>();

  /** Evaluation must run every layer on its own input: calibrating or calibrated, not a batch-statistics shortcut. */
  get perLayer(): boolean {
    return this.mode === 'calibrated' || this.recorder !== undefined;
  }

  /** The calibrated statistics as named arrays (none when uncalibrated). */
  toArrays(): NamedArrays {
    const out: NamedArrays = {};
    for (const [layer, s] of this.statistics) {
      out[`${layer}.running_mean`] = { shape: [s.mean.length], data: s.mean };
      out[`${layer}.running_var`] = { shape: [s.variance.length], data: s.variance };
    }
    return out;
  }

  /** Takes each layer's statistics found in `arrays` (other names ignored). */
  loadArrays(arrays: NamedArrays): void {
    for (const l of this.layers) {
      const mean = arrays[`${l}.running_mean`];
      const variance = arrays[`${l}.running_var`];
      if (mean !== undefined && variance !== undefined) this.statistics.set(l, { mean: mean.data, variance: variance.data });
    }
  }
}

const controls = new WeakMap<ParamStore, NormalizationControl>();

/** The normalization control of the model owning `store`. */
export function normalizationControl(store: ParamStore): NormalizationControl {
  let control = controls.get(store);
  if (control === undefined) {
    control = new NormalizationControl();
    controls.set(store, control);
  }
  return control;
}

/**
 * A named BatchNorm layer. Non-affine (the reference's models): no entries, batch statistics
 * unless the model is switched to calibrated statistics (evaluation only). Affine (FedBN's models):
 * `weight`, `bias`, `running_mean`, `running_var` as PyTorch, batch statistics while training
 * (running ones updated, unbiased variance), running ones in eval.
 */
export class BatchNorm2d {
  private readonly affine: { weight: tf.Variable; bias: tf.Variable; mean: tf.Variable; variance: tf.Variable } | undefined;
  private readonly control: NormalizationControl;
  private readonly name: string;

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
    this.name = scope.prefix;
    this.control = normalizationControl(scope.store);
    if (!affine) this.control.layers.push(this.name);
  }

  /** Normalizes an NHWC batch. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const a = this.affine;
    if (a === undefined) return training ? batchNorm(x) : this.evaluate(x);
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
    return this.affine === undefined && (training || !this.control.perLayer) ? bnRelu(x) : tf.relu(this.apply(x, training));
  }

  /** Non-affine evaluation: batch statistics (recorded during calibration) or the calibrated ones. */
  private evaluate(x: tf.Tensor4D): tf.Tensor4D {
    const { recorder, mode } = this.control;
    if (recorder !== undefined) {
      tf.tidy(() => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        recorder(this.name, mean.dataSync() as Float32Array, variance.dataSync() as Float32Array, x.size / x.shape[3]);
      });
      return batchNorm(x);
    }
    if (mode === 'batch') return batchNorm(x);
    const s = this.control.statistics.get(this.name);
    if (s === undefined) throw new Error(`BatchNorm ${this.name} has no calibrated statistics: calibrate the model first`);
    return tf.tidy(() => tf.batchNorm4d(x, tf.tensor1d(s.mean), tf.tensor1d(s.variance), undefined, undefined, BN_EPS));
  }
}

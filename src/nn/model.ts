import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore, Scope } from './params.js';

/** DenseNet as the reference's `nets/models.py` (torchvision layout, BN without affine). */
export interface DenseNetConfig {
  kind: 'densenet';
  /** [channels, height, width] */
  inputShape: [number, number, number];
  growthRate: number;
  blockConfig: number[];
  numInitFeatures: number;
  bnSize: number;
  numClasses: number;
  /** Affine BatchNorm with running statistics (FedBN); default false, the reference's. */
  affineBatchNorm?: boolean;
  /** MOON's projection head: a 2-layer MLP to this many dimensions, which the classifier then reads. */
  projectionDim?: number;
}

/** U-Net as the reference's `nets/models.py`. */
export interface UNetConfig {
  kind: 'unet';
  inputShape: [number, number, number];
  initFeatures: number;
  outChannels: number;
  /** Affine BatchNorm with running statistics (FedBN); default false, the reference's. */
  affineBatchNorm?: boolean;
}

export type ModelConfig = DenseNetConfig | UNetConfig;

/**
 * The input preprocessor a model runs first, injected by whoever builds the model (HarmoFL's
 * AmpNorm): it may learn from training batches unless frozen.
 */
export interface InputNorm {
  frozen: boolean;
  /** Folds a training batch into what the preprocessor learns. */
  observe(x: tf.Tensor4D): void;
  /** The preprocessed batch (a new tensor the caller owns). */
  apply(x: tf.Tensor4D): tf.Tensor4D;
  /** `observe` then `apply` on one training batch, sharing what the two compute alike. */
  observeAndApply(x: tf.Tensor4D): tf.Tensor4D;
}

/** Builds a model's input preprocessor under `scope` (its state entries) for inputs of `inputShape` ([C, H, W]). */
export type InputNormFactory<N extends InputNorm = InputNorm> = (scope: Scope, inputShape: [number, number, number]) => N;

/**
 * A network with its named state; inputs NHWC, outputs logits ([N, classes] or [N, H, W, classes]).
 * Forward code wraps each unit in tf.tidy: tfjs keeps what backprop needs (tensors ops save), and
 * the rest is freed as the forward pass goes instead of when it ends.
 */
export interface Model {
  readonly config: ModelConfig;
  readonly params: ParamStore;
  readonly inputNorm: InputNorm;
  /** The input preprocessor then the network. */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor;
  /** The network on an input the preprocessor already normalized (a HarmoFL step normalizes once, then runs two passes). */
  network(x: tf.Tensor4D, training: boolean): tf.Tensor;
  /** The projected representation and the logits of one pass (models with a projection head only, for MOON). */
  embed?(x: tf.Tensor4D, training: boolean): { z: tf.Tensor2D; logits: tf.Tensor2D };
  dispose(): void;
}

/** The preprocessed batch: folded into what the preprocessor learns when training, then normalized (outside any gradient). */
export function normalizeInput(model: Model, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  return training ? model.inputNorm.observeAndApply(x) : model.inputNorm.apply(x);
}

import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/model.js';
import { normalizeInput } from '../nn/model.js';
import { crossEntropy } from '../losses/classification.js';
import { jointLoss } from '../losses/joint_loss.js';
import type { PerturbedStepResult, WeightPerturbation } from './weight_perturbation.js';

/** Changes to a step's loss. */
export interface StepOptions {
  regularizer?: () => tf.Scalar;
  objective?: (input: tf.Tensor4D) => tf.Scalar;
}

/** The reference's training loss for a model's task: cross-entropy (classification) or (CE + Dice) / 2 (segmentation). */
export function taskLoss(model: Model, logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return model.config.kind === 'densenet' ? crossEntropy(logits, labels) : jointLoss(logits as tf.Tensor4D, labels as tf.Tensor3D);
}

/**
 * One HarmoFL client step on a batch: AmpNorm folds the batch into its running amplitude and
 * normalizes it once, then the perturbed optimizer runs its passes on the normalized batch.
 * `regularizer` adds a term to the loss (FedProx's proximal term); `objective` replaces the task
 * loss on the normalized input (MOON's).
 */
export function trainStep(
  model: Model,
  optimizer: WeightPerturbation,
  x: tf.Tensor4D,
  labels: tf.Tensor,
  options: StepOptions = {},
): PerturbedStepResult {
  const input = normalizeInput(model, x, true);
  const loss = (): tf.Scalar => {
    const main = options.objective?.(input) ?? taskLoss(model, model.network(input, true), labels);
    return options.regularizer === undefined ? main : tf.add(main, options.regularizer());
  };
  try {
    return optimizer.step(loss, model.params.trainable());
  } finally {
    input.dispose();
  }
}

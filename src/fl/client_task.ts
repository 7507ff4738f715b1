import * as tf from '@tensorflow/tfjs-core';
import { loadFederation, type FederationFormat } from '../data/federation.js';
import type { Federation } from '../data/manifest.js';
import { fromNamedArrays, toNamedArrays, transferList, type NamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import type { AmpNormOptions } from '../harmofl/amp_norm.js';
import { taskLoss, trainStep } from '../harmofl/train_step.js';
import { modelContrastiveLoss } from '../losses/contrastive.js';
import { WeightPerturbation } from '../harmofl/weight_perturbation.js';
import { accuracy } from '../losses/classification.js';
import { diceCoefficient } from '../losses/dice.js';
import type { Model, ModelConfig } from '../nn/model.js';
import { createModel } from '../nn/presets.js';
import { Adam } from '../optim/adam.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import { Sgd } from '../optim/sgd.js';
import { batches } from './batches.js';
import type { ClientInstructions, ClientUpdate } from './strategy.js';

/** Where a worker finds the federation (each worker loads it once, lazily). */
export interface DataRef {
  dir: string;
  format: FederationFormat;
  imbalance: boolean;
  seed: number;
  resize?: [number, number];
}

/** Base optimizer settings (PyTorch semantics). */
export interface OptimizerConfig {
  kind: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** The model a task builds: architecture plus AmpNorm settings. */
export interface ModelRef {
  config: ModelConfig;
  amp: AmpNormOptions;
}

export interface LocalTrainInput {
  data: DataRef;
  site: string;
  model: ModelRef;
  state: NamedArrays;
  optimizer: OptimizerConfig;
  optimizerState?: OptimizerState;
  instructions: ClientInstructions;
  /** This site's model after its previous round (MOON); the global state when absent. */
  previousState?: NamedArrays;
  epochs: number;
  batch: number;
  seed: number;
  augment: boolean;
}

export interface LocalTrainOutput {
  update: ClientUpdate;
  optimizerState: OptimizerState;
}

export interface EvaluateInput {
  data: DataRef;
  site: string;
  split: 'val' | 'test';
  model: ModelRef;
  state: NamedArrays;
  batch: number;
}

export interface EvaluateOutput {
  site: string;
  split: 'val' | 'test';
  metric: number;
  samples: number;
}

const federations = new Map<string, Promise<Federation>>();
const models = new Map<string, Model>();

function federation(ref: DataRef): Promise<Federation> {
  const key = JSON.stringify(ref);
  let fed = federations.get(key);
  if (fed === undefined) {
    fed = loadFederation(ref.dir, { format: ref.format, imbalance: ref.imbalance, seed: ref.seed, ...(ref.resize ? { resize: ref.resize } : {}) });
    federations.set(key, fed);
  }
  return fed;
}

/** The worker's model for `ref` in `role` (the one trained, or MOON's frozen references), built once, with `state` loaded. */
function modelWith(ref: ModelRef, state: NamedArrays, frozen: boolean, role: 'local' | 'global' | 'previous' = 'local'): Model {
  const key = `${role}:${JSON.stringify(ref)}`;
  let model = models.get(key);
  if (model === undefined) {
    model = createModel(ref.config, new Rng(0), ref.amp);
    models.set(key, model);
  }
  const tensors = fromNamedArrays(state);
  model.params.loadState(tensors);
  tf.dispose([...tensors.values()]);
  model.ampNorm.frozen = frozen;
  return model;
}

function siteData(fed: Federation, site: string): Federation['sites'][number] {
  const data = fed.sites.find((s) => s.name === site);
  if (data === undefined) throw new Error(`site ${site} is not in the federation (sites: ${fed.sites.map((s) => s.name).join(', ')})`);
  return data;
}

function baseOptimizer(c: OptimizerConfig): Optimizer {
  return c.kind === 'sgd' ? new Sgd({ lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay }) : new Adam({ lr: c.lr, weightDecay: c.weightDecay });
}

/** Worker task: local epochs from the global state; returns the new state and the optimizer's. */
export async function localTrain(input: LocalTrainInput): Promise<{ output: LocalTrainOutput; transfer: ArrayBuffer[] }> {
  const fed = await federation(input.data);
  const data = siteData(fed, input.site);
  const model = modelWith(input.model, input.state, input.instructions.freezeAmpNorm);
  const base = baseOptimizer(input.optimizer);
  if (input.optimizerState !== undefined) base.setState(input.optimizerState);
  const opt = new WeightPerturbation(base, input.instructions.alpha);
  const mu = input.instructions.proximalMu;
  const anchors = mu > 0 ? new Map([...model.params.trainable()].map(([k, v]) => [k, tf.clone(v)])) : undefined;
  const regularizer =
    anchors === undefined
      ? undefined
      : (): tf.Scalar =>
          tf.mul(mu / 2, tf.addN([...model.params.trainable()].map(([k, v]) => tf.sum(tf.squaredDifference(v, anchors.get(k)!))))) as tf.Scalar;
  const moon = input.instructions.moon;
  const references =
    moon === undefined ? undefined : [modelWith(input.model, input.state, true, 'global'), modelWith(input.model, input.previousState ?? input.state, true, 'previous')];
  const rng = new Rng(input.seed);
  let steps = 0;
  let lossSum = 0;
  for (let e = 0; e < input.epochs; e++) {
    for await (const b of batches(data.train, fed, input.batch, rng, input.augment ? rng : undefined)) {
      // MOON pulls the representation toward the global model's and away from this site's previous one.
      const targets = references === undefined ? undefined : tf.tidy(() => references.map((m) => embedOf(m, b.x, false).z));
      const objective =
        moon === undefined || targets === undefined
          ? undefined
          : (x: tf.Tensor4D): tf.Scalar => {
              const { z, logits } = embedOf(model, x, true);
              return tf.add(taskLoss(model, logits, b.y), tf.mul(moon.mu, modelContrastiveLoss(z, targets[0]!, targets[1]!, moon.tau))) as tf.Scalar;
            };
      lossSum += trainStep(model, opt, b.x, b.y, { ...(regularizer ? { regularizer } : {}), ...(objective ? { objective } : {}) }).loss;
      steps++;
      tf.dispose([b.x, b.y, ...(targets ?? [])]);
    }
  }
  const state = toNamedArrays(model.params.state());
  if (anchors !== undefined) tf.dispose([...anchors.values()]);
  const optimizerState = base.getState();
  base.dispose();
  const update: ClientUpdate = { site: input.site, state, samples: data.train.size, steps, trainLoss: steps > 0 ? lossSum / steps : Number.NaN };
  return { output: { update, optimizerState }, transfer: transferList(state) };
}

/** Worker task: the reference metric of `state` on one site's split (accuracy, or Dice with background). */
export async function evaluate(input: EvaluateInput): Promise<EvaluateOutput> {
  const fed = await federation(input.data);
  const source = siteData(fed, input.site)[input.split];
  const model = modelWith(input.model, input.state, true);
  let weighted = 0;
  for await (const b of batches(source, fed, input.batch)) {
    // The reference's BatchNorm uses batch statistics at test time too.
    const logits = tf.tidy(() => model.forward(b.x, false));
    weighted += (fed.task === 'classification' ? accuracy(logits as tf.Tensor2D, b.y as tf.Tensor1D) : diceCoefficient(logits as tf.Tensor4D, b.y as tf.Tensor3D)) * b.size;
    tf.dispose([logits, b.x, b.y]);
  }
  return { site: input.site, split: input.split, metric: source.size > 0 ? weighted / source.size : Number.NaN, samples: source.size };
}

/** The projected representation and logits of a model with a projection head (MOON's models). */
function embedOf(model: Model, x: tf.Tensor4D, training: boolean): { z: tf.Tensor2D; logits: tf.Tensor2D } {
  if (model.embed === undefined) throw new Error('MOON needs a model with a projection head (classification DenseNet)');
  return model.embed(x, training);
}

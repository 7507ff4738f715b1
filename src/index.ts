// harmofl's portable core: everything here runs wherever tfjs runs (no file system, threads or
// native code). Node's file loaders, the worker-pool grid and simulate() are in 'harmofl/node'.

export { initEngine, BACKEND_CHOICES, type BackendChoice, type BackendInfo, type EngineOptions } from './engine/backend.js';
export { provideSimdModule } from './engine/simd_module.js';
export { Rng } from './engine/rng.js';
export { fromNamedArrays, toNamedArrays, type ArrayData, type NamedArrays } from './engine/named_arrays.js';
export { decodeArraysFile, encodeArraysFile } from './engine/named_arrays_file.js';

export type { DenseNetConfig, InputNorm, InputNormFactory, Model, ModelConfig, UNetConfig } from './nn/model.js';
export { densenet121, unet32 } from './nn/presets.js';
export { DenseNet } from './nn/densenet.js';
export { UNet } from './nn/unet.js';

export { AmpNorm, AMP_NORM_PAPER_MOMENTUM, AMP_NORM_REFERENCE, type AmpNormOptions } from './harmofl/amp_norm.js';
export { createModel, type AmpNormModel } from './harmofl/create_model.js';
export { decodeModel, encodeModel } from './harmofl/model_codec.js';
export { WeightPerturbation, type PerturbedStepResult } from './harmofl/weight_perturbation.js';
export { taskLoss, trainStep, type StepOptions } from './harmofl/train_step.js';

export { Sgd, type SgdOptions } from './optim/sgd.js';
export { Adam, type AdamOptions } from './optim/adam.js';
export type { Optimizer, OptimizerState } from './optim/optimizer.js';
export { accuracy, crossEntropy } from './losses/classification.js';
export { diceCoefficient, foregroundScores, softDiceLoss } from './losses/dice.js';
export { jointLoss } from './losses/joint_loss.js';
export { modelContrastiveLoss } from './losses/contrastive.js';

export type { Federation, SiteData, Task } from './data/manifest.js';
export type { Image, Sample, SampleSource, Split } from './data/sample.js';

export * from './fl/messages.js';
export type { Failure, Grid, RoundTrip, SendOptions, ServerNote, SiteInstruction } from './fl/grid.js';
export type * from './fl/strategy.js';
export { averagingServer, canAggregate, clientWeights, collectEvaluation, weightedAverage, type Aggregator } from './fl/averaging.js';
export { allStrategyOptions, resolveOptions, STRATEGIES, STRATEGY_NAMES, strategyNamed } from './fl/strategies/index.js';
export { createClientApp, type ClientApp } from './fl/client_app.js';
export { emptyContext, entriesUnder, replaceEntries, type ClientContext } from './fl/client_context.js';
export { ModelCache } from './fl/model_cache.js';
export { CONFIG_KEYS, encodeRunSpec, runSpecOf, type ModelRef, type OptimizerConfig, type RunSpec } from './fl/run_spec.js';
export { batches, toBatch, type Batch, type DataFormat } from './fl/batches.js';
export { runFederation, siteSeed } from './fl/round_loop.js';
export type {
  FederationEvent,
  FederationPlan,
  FederationResult,
  ProgressEvent,
  ResumePoint,
  RoundEvent,
  RoundReport,
  SiteRound,
} from './fl/round_loop.js';

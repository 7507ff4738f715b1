import type * as tf from '@tensorflow/tfjs-core';
import type { NamedArrays } from '../engine/named_arrays.js';
import type { Model } from '../nn/model.js';
import type { Batch } from './batches.js';
import type { ClientContext } from './client_context.js';
import type { Failure, SiteInstruction } from './grid.js';
import type { ConfigRecord, EvaluateInstruction, EvaluateReply, TrainInstruction, TrainReply } from './messages.js';

/** A numeric hyper-parameter a strategy declares; the CLI and the library API read it from here. */
export interface StrategyOption {
  key: string;
  flag: string;
  help: string;
  default: number;
  /** `>= 0` or `> 0`. */
  min: 'zero' | 'positive';
}

/** Resolved hyper-parameters by key. */
export type StrategyOptions = Readonly<Record<string, number>>;

/** What a strategy needs of the model it trains. */
export interface ModelNeeds {
  /** BatchNorm with affine parameters and running statistics (the reference's has neither). */
  affineBatchNorm?: boolean;
  /** A projection head of this size on the DenseNet features (classification only). */
  projectionDim?: number;
  /** The model normalizes amplitudes (otherwise AmpNorm is an identity that never learns one). */
  ampNorm?: boolean;
}

/** One site's base settings for a round, from the round loop (run spec, seed); a strategy may add to them. */
export interface SiteConfig {
  site: string;
  config: ConfigRecord;
}

/** Per-site metrics of one evaluation round. */
export interface Evaluation {
  perSite: Record<string, MetricsByName>;
}
type MetricsByName = Record<string, number>;

/** What the server needs to know to run a strategy. */
export interface ServerSetup {
  options: StrategyOptions;
  /** Names of the trained entries (FedNova and FedAdam move these; other state is averaged). */
  trainable: ReadonlySet<string>;
  /** Clients' SGD momentum (FedNova's effective step count depends on it; 0 for Adam). */
  clientMomentum: number;
  /** Client weights: 1/N of the sites that replied (the reference), or by their sample counts. */
  weighting: 'uniform' | 'samples';
  /** Fewest train replies a round needs to aggregate; a round with fewer keeps the global model. */
  minFitClients: number;
  /** Aggregate a round in which some sites failed (when at least `minFitClients` replied). */
  acceptFailures: boolean;
}

/** The server half of a strategy (after Flower's Strategy): configure rounds, aggregate replies, keep state for checkpoints. */
export interface ServerStrategy {
  readonly name: string;
  configureTrain(round: number, global: NamedArrays, sites: readonly SiteConfig[]): Array<SiteInstruction<TrainInstruction>>;
  /** The next global state, or undefined when the round cannot be aggregated (too few replies). */
  aggregateTrain(round: number, global: NamedArrays, replies: readonly TrainReply[], failures: readonly Failure[]): NamedArrays | undefined;
  configureEvaluate(round: number, global: NamedArrays, sites: readonly SiteConfig[]): Array<SiteInstruction<EvaluateInstruction>>;
  aggregateEvaluate(round: number, replies: readonly EvaluateReply[], failures: readonly Failure[]): Evaluation;
  /** Server-side state that must survive a resume (FedAdam's moments); empty when there is none. */
  getState(): NamedArrays;
  setState(state: NamedArrays): void;
}

/** What a client's local training looks like in one round, as a strategy plans it. */
export interface FitPlan {
  /** Weight perturbation radius (0: the plain base optimizer). */
  alpha: number;
  /** AmpNorm keeps its running amplitude (HarmoFL: after the site's first round). */
  freezeInputNorm: boolean;
  /** A term added to every step's loss (FedProx's proximal term). */
  regularizer?: () => tf.Scalar;
  /** Replaces the task loss for one batch (MOON's); `dispose` frees what it prepared. */
  objective?: (batch: Batch) => { loss: (input: tf.Tensor4D) => tf.Scalar; dispose(): void };
  /** The context to keep after training, given the trained state (MOON keeps it as its previous model). */
  after?: (trained: NamedArrays, context: ClientContext) => ClientContext;
  /** Frees what the plan holds. */
  dispose?: () => void;
}

/** What a plan may use: the model being trained (global state loaded), the context, and frozen reference models. */
export interface FitSession {
  model: Model;
  global: NamedArrays;
  context: ClientContext;
  /** A frozen copy of the model with `state` (MOON's global and previous models). */
  reference(role: 'global' | 'previous', state: NamedArrays): Model;
}

/** The client half of a strategy: its changes to local training, run on the site. */
export interface ClientHook {
  /** Entries the site keeps for itself instead of taking the server's (FedBN's normalization layers). */
  localEntries?(model: Model): ReadonlySet<string>;
  /** The round's training plan; absent: plain local SGD/Adam. */
  plan?(session: FitSession): FitPlan;
}

/** A federated strategy in one place: options, model needs, server logic and client hook. */
export interface StrategyDefinition {
  readonly name: string;
  /** One line for `--help` and the README. */
  readonly summary: string;
  readonly options: readonly StrategyOption[];
  readonly model: ModelNeeds;
  /** Classification only (MOON's head sits on DenseNet features). */
  readonly classificationOnly?: boolean;
  server(setup: ServerSetup): ServerStrategy;
  client(options: StrategyOptions): ClientHook;
}

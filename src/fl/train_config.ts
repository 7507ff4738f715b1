import type { Task } from '../data/manifest.js';
import type { OptimizerConfig, ModelRef, RunSpec } from './run_spec.js';
import type { DataRef } from './site_data.js';
import type { StrategyOptions } from './strategy.js';

/** Everything a federated run depends on; saved with its results. */
export interface TrainConfig {
  data: DataRef;
  strategy: string;
  /** The strategy's hyper-parameters (the ones it declares). */
  options: StrategyOptions;
  rounds: number;
  localEpochs: number;
  batch: number;
  optimizer: OptimizerConfig;
  model: ModelRef;
  seed: number;
  weighting: 'uniform' | 'samples';
  augment: boolean;
  out: string;
}

/** The run's result (`summary.json`). */
export interface TrainSummary {
  strategy: string;
  task: Task;
  metric: 'accuracy' | 'dice';
  bestRound: number;
  perSiteTest: Record<string, number>;
  meanTest: number;
  wallSeconds: number;
  config: TrainConfig;
}

/** What every client of a run is told (the run spec the round loop sends with each instruction). */
export function runSpecOfConfig(config: TrainConfig): RunSpec {
  return {
    strategy: config.strategy,
    options: config.options,
    model: config.model,
    optimizer: config.optimizer,
    epochs: config.localEpochs,
    batch: config.batch,
    augment: config.augment,
  };
}

import type { AmpNormOptions } from '../harmofl/amp_norm.js';
import type { ModelConfig } from '../nn/model.js';
import { MessageError, type ConfigRecord } from './messages.js';
import type { StrategyOptions } from './strategy.js';

/** Base optimizer settings (PyTorch semantics). */
export interface OptimizerConfig {
  kind: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** The model a client builds: architecture plus AmpNorm settings. */
export interface ModelRef {
  config: ModelConfig;
  amp: AmpNormOptions;
}

/** What every client needs to know to train in a run; the server sends it with each instruction. */
export interface RunSpec {
  strategy: string;
  options: StrategyOptions;
  model: ModelRef;
  optimizer: OptimizerConfig;
  epochs: number;
  batch: number;
  augment: boolean;
}

/** Config keys the round loop sets on every instruction. */
export const CONFIG_KEYS = { run: 'run', seed: 'seed', splits: 'splits' } as const;

/** The run spec as a config value. */
export function encodeRunSpec(spec: RunSpec): string {
  return JSON.stringify(spec);
}

/** Reads and checks the run spec of an instruction's config; `where` names the sender in errors. */
export function runSpecOf(config: ConfigRecord, where: string): RunSpec {
  const text = config[CONFIG_KEYS.run];
  if (typeof text !== 'string') throw new MessageError(`${where}: config.${CONFIG_KEYS.run} (the run spec) is missing`);
  let spec: RunSpec;
  try {
    spec = JSON.parse(text) as RunSpec;
  } catch {
    throw new MessageError(`${where}: config.${CONFIG_KEYS.run} is not JSON`);
  }
  const fail = (what: string): never => {
    throw new MessageError(`${where}: run spec ${what}`);
  };
  if (typeof spec.strategy !== 'string') fail('names no strategy');
  if (typeof spec.options !== 'object' || spec.options === null || Object.values(spec.options).some((v) => typeof v !== 'number'))
    fail('options must be numbers');
  const modelKind = (spec.model as Partial<ModelRef> | undefined)?.config?.kind as unknown;
  if (modelKind !== 'densenet' && modelKind !== 'unet') fail(`has an unknown model kind ${JSON.stringify(modelKind)}`);
  const optimizerKind = (spec.optimizer as Partial<OptimizerConfig> | undefined)?.kind as unknown;
  if (optimizerKind !== 'sgd' && optimizerKind !== 'adam') fail(`has an unknown optimizer ${JSON.stringify(optimizerKind)}`);
  for (const k of ['epochs', 'batch'] as const) if (!Number.isInteger(spec[k]) || spec[k] < 1) fail(`${k} must be a positive integer`);
  return spec;
}

/** An integer config value, or a MessageError naming it. */
export function configInt(config: ConfigRecord, key: string, where: string): number {
  const v = config[key];
  if (!Number.isInteger(v)) throw new MessageError(`${where}: config.${key} must be an integer, got ${JSON.stringify(v)}`);
  return v as number;
}

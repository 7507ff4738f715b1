import { detectFormat, loadFederation, type FederationFormat } from '../data/federation.js';
import type { Federation } from '../data/manifest.js';
import { summarizeFederation, type SiteSummary } from '../data/summary.js';
import { strategyNamed, resolveOptions } from '../fl/strategies/index.js';
import type { TrainConfig } from '../fl/train_config.js';
import type { ModelConfig } from '../nn/model.js';
import { densenet121, unet32 } from '../nn/presets.js';

/** How a run is described by a person (the CLI's options, or a library caller): task defaults fill what is left out. */
export interface RunOptions {
  data: string;
  rounds?: number;
  localEpochs?: number;
  lr?: number;
  batch?: number;
  /** Strategy hyper-parameters by key (`alpha`, `mu`, `serverLr`, `moonMu`, `moonTau`); defaults from each strategy. */
  strategyOptions?: Readonly<Record<string, number | undefined>>;
  optimizer?: 'sgd' | 'adam';
  model?: Architecture;
  features?: number;
  growth?: number;
  blocks?: number[];
  imageSize?: number;
  ampL?: number;
  ampMomentum?: number;
  seed?: number;
  imbalance?: boolean;
  weighting?: 'uniform' | 'samples';
}

/** A loaded federation, its summary, and the run configuration for any strategy on it. */
export interface PreparedRun {
  fed: Federation;
  summary: SiteSummary[];
  configFor(strategy: string, out: string): TrainConfig;
}

/** The architectures a run or an import can name: the reference presets and the small models. */
export const ARCHITECTURES = ['densenet121', 'unet32', 'densenet', 'unet'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** Size flags of the small models (`--features`, `--growth`, `--blocks`). */
export interface ArchitectureFlags {
  features?: number;
  growth?: number;
  blocks?: number[];
}

/** The model config of an architecture at `inputShape` ([C, H, W]) with `classes` outputs; the small models' defaults live here only. */
export function architecture(
  kind: Architecture,
  flags: ArchitectureFlags,
  inputShape: [number, number, number],
  classes: number,
): ModelConfig {
  if (kind === 'densenet121') return { ...densenet121(inputShape[1]), inputShape, numClasses: classes };
  if (kind === 'unet32') return { ...unet32(inputShape[1]), inputShape, outChannels: classes };
  if (kind === 'densenet')
    return {
      kind: 'densenet',
      inputShape,
      growthRate: flags.growth ?? 12,
      blockConfig: flags.blocks ?? [3, 6, 12, 8],
      numInitFeatures: flags.features ?? 24,
      bnSize: 4,
      numClasses: classes,
    };
  return { kind: 'unet', inputShape, initFeatures: flags.features ?? 8, outChannels: classes };
}

/** The model a run trains: the reference preset for the task unless the options say otherwise. */
function modelConfig(o: RunOptions, task: Federation['task'], size: [number, number, number], classes: number): ModelConfig {
  const kind = o.model ?? (task === 'classification' ? 'densenet121' : 'unet32');
  if ((kind.startsWith('densenet') ? 'classification' : 'segmentation') !== task)
    throw new Error(
      `--model ${kind} does not fit a ${task} federation; use ${task === 'classification' ? 'densenet121 or densenet' : 'unet32 or unet'}`,
    );
  return architecture(kind, o, size, classes);
}

/** What a run's configuration needs of a federation: its task, input shape, classes and format. */
export interface FederationShape {
  task: Federation['task'];
  inputShape: [number, number, number];
  numClasses: number;
  format: FederationFormat;
}

/** The run configuration for any strategy on a federation of `shape` (the coordinator of a deployment knows only that), task defaults filling what `o` leaves out. */
export function configsFor(o: RunOptions, shape: FederationShape): PreparedRun['configFor'] {
  const seed = o.seed ?? 0;
  const imbalance = o.imbalance === true;
  const resize: [number, number] | undefined = o.imageSize === undefined ? undefined : [o.imageSize, o.imageSize];
  const classification = shape.task === 'classification';
  const model = modelConfig(o, shape.task, shape.inputShape, shape.numClasses);
  return (name, out) => {
    const strategy = strategyNamed(name);
    const needs = strategy.model;
    if (strategy.classificationOnly === true && model.kind !== 'densenet')
      throw new Error(`--strategy ${name} needs a classification federation (its projection head sits on DenseNet features)`);
    return {
      data: { dir: o.data, format: shape.format, imbalance, seed, ...(resize ? { resize } : {}) },
      strategy: name,
      options: resolveOptions(strategy, o.strategyOptions ?? {}),
      rounds: o.rounds ?? (classification ? 100 : 500),
      localEpochs: o.localEpochs ?? 1,
      batch: o.batch ?? (classification ? 128 : 16),
      optimizer: {
        kind: o.optimizer ?? (classification ? 'sgd' : 'adam'),
        lr: o.lr ?? (classification ? 1e-3 : 1e-4),
        momentum: 0.9,
        weightDecay: 1e-4,
      },
      model: {
        config: {
          ...model,
          affineBatchNorm: needs.affineBatchNorm === true,
          ...(needs.projectionDim !== undefined ? { projectionDim: needs.projectionDim } : {}),
        },
        amp: { L: o.ampL ?? 0, momentum: o.ampMomentum ?? 0, enabled: needs.ampNorm === true },
      },
      seed,
      weighting: o.weighting ?? 'uniform',
      augment: !classification,
      out,
    };
  };
}

/** Loads and summarizes the federation and resolves the task's defaults (the reference's: SGD 1e-3 batch 128 for classification, Adam 1e-4 batch 16 for segmentation). */
export async function prepareRun(o: RunOptions): Promise<PreparedRun> {
  const format = detectFormat(o.data);
  const resize: [number, number] | undefined = o.imageSize === undefined ? undefined : [o.imageSize, o.imageSize];
  const fed = await loadFederation(o.data, { format, imbalance: o.imbalance === true, seed: o.seed ?? 0, ...(resize ? { resize } : {}) });
  const summary = await summarizeFederation(fed);
  const first = await fed.sites[0]!.train.get(0);
  const inputShape: [number, number, number] = [first.image.channels, first.image.height, first.image.width];
  return { fed, summary, configFor: configsFor(o, { task: fed.task, inputShape, numClasses: fed.numClasses, format }) };
}

import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { detectFormat, loadFederation } from '../data/federation.js';
import type { Federation } from '../data/manifest.js';
import { summarizeFederation, summaryTable } from '../data/summary.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import type { WorkerPool } from '../engine/worker_pool.js';
import { federatedTraining, type TrainConfig, type TrainSummary } from '../fl/simulation.js';
import { projectionDimFor, usesAffineBatchNorm, usesAmpNorm, type StrategyName } from '../fl/strategies.js';
import type { ModelConfig } from '../nn/model.js';
import { densenet121, unet32 } from '../nn/presets.js';
import { formatTable } from '../report/table.js';
import { parseBackend, parseList, parsePositiveInt } from './options.js';

/** Options shared by `harmofl train` and `harmofl compare`. */
export interface TrainOptions {
  data: string;
  rounds?: number;
  localEpochs: number;
  wkIters?: number;
  lr?: number;
  batch?: number;
  alpha: number;
  mu: number;
  serverLr: number;
  moonMu: number;
  moonTau: number;
  optimizer?: 'sgd' | 'adam';
  model?: 'densenet121' | 'unet32' | 'densenet' | 'unet';
  features?: number;
  growth?: number;
  blocks?: number[];
  imageSize?: number;
  ampL: number;
  ampMomentum: number;
  seed: number;
  workers: number;
  imbalance?: boolean;
  weighting: 'uniform' | 'samples';
  out: string;
  backend: BackendChoice;
}

const nonNegative = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} takes a number >= 0, got "${v}"`);
  return n;
};
const positive = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} takes a number > 0, got "${v}"`);
  return n;
};

/** Parser for an option restricted to `values`. */
export const oneOf = <T extends string>(name: string, values: readonly T[]) => (v: string): T => {
  if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${name}: choose one of ${values.join(', ')}`);
  return v as T;
};

/** Adds the data, model, optimization and run options to a command. */
export function addTrainOptions(cmd: Command, defaultOut: string): Command {
  return cmd
    .requiredOption('--data <dir>', 'federation folder (manifest.csv, Camelyon17-WILDS metadata.csv, or prostate site folders)')
    .option('--rounds <n>', 'communication rounds (reference: 100 classification, 500 segmentation)', (v: string) => parsePositiveInt(v, '--rounds'))
    .option('--local-epochs <n>', 'local epochs per round (alias --wk-iters)', (v: string) => parsePositiveInt(v, '--local-epochs'), 1)
    .option('--wk-iters <n>', 'alias of --local-epochs', (v: string) => parsePositiveInt(v, '--wk-iters'))
    .option('--lr <x>', 'learning rate (reference: 1e-3 SGD classification, 1e-4 Adam segmentation)', positive('--lr'))
    .option('--batch <n>', 'batch size (reference: 128 classification, 16 segmentation)', (v: string) => parsePositiveInt(v, '--batch'))
    .option('--alpha <a>', 'weight perturbation radius', nonNegative('--alpha'), 0.05)
    .option('--mu <m>', 'FedProx proximal coefficient', nonNegative('--mu'), 0.01)
    .option('--server-lr <x>', 'FedAdam server learning rate', positive('--server-lr'), 1e-2)
    .option('--moon-mu <m>', 'MOON contrastive weight', nonNegative('--moon-mu'), 1)
    .option('--moon-tau <t>', 'MOON temperature', positive('--moon-tau'), 0.5)
    .option('--optimizer <name>', 'sgd | adam (default by task)', oneOf('--optimizer', ['sgd', 'adam'] as const))
    .option('--model <name>', 'densenet121 | unet32 | densenet | unet (default: the reference model of the task)', oneOf('--model', ['densenet121', 'unet32', 'densenet', 'unet'] as const))
    .option('--features <n>', 'densenet init features / unet base features', (v: string) => parsePositiveInt(v, '--features'))
    .option('--growth <n>', 'densenet growth rate', (v: string) => parsePositiveInt(v, '--growth'))
    .option('--blocks <a,b,c,d>', 'densenet block config', (v: string) => parseList(v).map((b) => parsePositiveInt(b, '--blocks')))
    .option('--image-size <px>', 'resize manifest images to this square size', (v: string) => parsePositiveInt(v, '--image-size'))
    .option('--amp-l <L>', 'AmpNorm low-frequency ratio (0: DC only, the released code)', nonNegative('--amp-l'), 0)
    .option('--amp-momentum <m>', 'AmpNorm EMA momentum (0: the released code, 0.1: the paper)', nonNegative('--amp-momentum'), 0)
    .option('--seed <n>', 'seed (same seed and workers: same metrics)', (v: string) => Number(v), 0)
    .option('--workers <n>', 'parallel clients (default: cores)', (v: string) => parsePositiveInt(v, '--workers'), os.availableParallelism())
    .option('--imbalance', "keep every site's full training set (default: cut to the smallest site, as the reference)")
    .option('--weighting <w>', 'uniform (reference) | samples', oneOf('--weighting', ['uniform', 'samples'] as const), 'uniform' as const)
    .option('--out <dir>', 'output folder', defaultOut)
    .option('--backend <name>', 'auto | wasm | tensorflow | cpu', parseBackend, 'auto' as BackendChoice);
}

/** The model a run trains: the reference preset for the task unless the options say otherwise. */
function modelConfig(o: TrainOptions, task: Federation['task'], size: [number, number, number], classes: number): ModelConfig {
  const kind = o.model ?? (task === 'classification' ? 'densenet121' : 'unet32');
  if ((kind.startsWith('densenet') ? 'classification' : 'segmentation') !== task)
    throw new Error(`--model ${kind} does not fit a ${task} federation; use ${task === 'classification' ? 'densenet121 or densenet' : 'unet32 or unet'}`);
  if (kind === 'densenet121') return { ...densenet121(size[1]), inputShape: size, numClasses: classes };
  if (kind === 'unet32') return { ...unet32(size[1]), inputShape: size, outChannels: classes };
  if (kind === 'densenet')
    return { kind: 'densenet', inputShape: size, growthRate: o.growth ?? 12, blockConfig: o.blocks ?? [3, 6, 12, 8], numInitFeatures: o.features ?? 24, bnSize: 4, numClasses: classes };
  return { kind: 'unet', inputShape: size, initFeatures: o.features ?? 8, outChannels: classes };
}

/** A loaded federation and the run configuration for any strategy on it. */
export interface PreparedRun {
  fed: Federation;
  configFor(strategy: StrategyName, out: string): TrainConfig;
}

/** Starts the backend, loads and summarizes the federation, and resolves the task's defaults. */
export async function prepareRun(o: TrainOptions): Promise<PreparedRun> {
  const backend = await initBackend(o.backend);
  process.stderr.write(`backend: ${backend.name} (${backend.detail})\n`);
  const format = detectFormat(o.data);
  const resize: [number, number] | undefined = o.imageSize === undefined ? undefined : [o.imageSize, o.imageSize];
  const fed = await loadFederation(o.data, { format, imbalance: o.imbalance === true, seed: o.seed, ...(resize ? { resize } : {}) });
  process.stderr.write(`${summaryTable(fed, await summarizeFederation(fed))}\n`);
  const first = await fed.sites[0]!.train.get(0);
  const size: [number, number, number] = [first.image.channels, first.image.height, first.image.width];
  const classification = fed.task === 'classification';
  const model = modelConfig(o, fed.task, size, fed.numClasses);
  return {
    fed,
    configFor: (strategy, out) => {
      const projectionDim = projectionDimFor(strategy);
      if (projectionDim !== undefined && model.kind !== 'densenet') throw new Error(`--strategy ${strategy} needs a classification federation (its projection head sits on DenseNet features)`);
      return {
      data: { dir: o.data, format, imbalance: o.imbalance === true, seed: o.seed, ...(resize ? { resize } : {}) },
      strategy,
      alpha: o.alpha,
      mu: o.mu,
      serverLr: o.serverLr,
      moonMu: o.moonMu,
      moonTau: o.moonTau,
      rounds: o.rounds ?? (classification ? 100 : 500),
      localEpochs: o.wkIters ?? o.localEpochs,
      batch: o.batch ?? (classification ? 128 : 16),
      optimizer: { kind: o.optimizer ?? (classification ? 'sgd' : 'adam'), lr: o.lr ?? (classification ? 1e-3 : 1e-4), momentum: 0.9, weightDecay: 1e-4 },
      model: {
        config: { ...model, affineBatchNorm: usesAffineBatchNorm(strategy), ...(projectionDim !== undefined ? { projectionDim } : {}) },
        amp: { L: o.ampL, momentum: o.ampMomentum, enabled: usesAmpNorm(strategy) },
      },
      seed: o.seed,
      weighting: o.weighting,
      augment: !classification,
      out,
      };
    },
  };
}

/** Runs one strategy to the end, printing a per-site table after each round. */
export async function runTraining(config: TrainConfig, fed: Federation, pool: WorkerPool, resume: boolean): Promise<TrainSummary> {
  const onProgress = (round: number, phase: string, done: number, total: number): void => {
    const width = 20;
    const filled = Math.round((width * done) / total);
    process.stderr.write(`\r${config.strategy} round ${round + 1}/${config.rounds} ${phase.padEnd(8)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
    if (done === total && phase === 'evaluate') process.stderr.write('\r\x1b[K');
  };
  const run = federatedTraining(config, fed, pool, { resume, ...(process.stderr.isTTY ? { onProgress } : {}) });
  for (;;) {
    const next = await run.next();
    if (next.done === true) return next.value;
    const r = next.value;
    const rows = Object.entries(r.sites).map(([site, v]) => [site, v.trainLoss.toFixed(4), (v.val * 100).toFixed(2), (v.test * 100).toFixed(2)]);
    process.stderr.write(
      `${config.strategy} round ${r.round + 1}/${config.rounds} (${r.seconds.toFixed(1)} s)${r.isBest ? ', best so far' : ''}\n${formatTable(['site', 'train loss', 'val %', 'test %'], [...rows, ['mean', '', (r.meanVal * 100).toFixed(2), (r.meanTest * 100).toFixed(2)]])}\n`,
    );
  }
}

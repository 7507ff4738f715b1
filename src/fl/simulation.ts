import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Federation } from '../data/manifest.js';
import { writeFileAtomic } from '../engine/atomic_write.js';
import { fromNamedArrays, toNamedArrays, type NamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import type { WorkerPool } from '../engine/worker_pool.js';
import type { OptimizerState } from '../optim/optimizer.js';
import { createModel } from '../nn/presets.js';
import { saveModel } from '../nn/model_file.js';
import type { DataRef, EvaluateInput, EvaluateOutput, LocalTrainInput, LocalTrainOutput, ModelRef, OptimizerConfig } from './client_task.js';
import { createStrategy, type StrategyName } from './strategies.js';
import { emptySiteStates, readCheckpoint, writeCheckpoint, type CheckpointHeader } from './checkpoint.js';

/** Everything a federated run depends on; saved with its results. */
export interface TrainConfig {
  data: DataRef;
  strategy: StrategyName;
  alpha: number;
  mu: number;
  /** FedAdam's server learning rate. */
  serverLr: number;
  /** MOON's contrastive weight and temperature. */
  moonMu: number;
  moonTau: number;
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

/** How a run starts (fresh, or from `out/checkpoint.hflc`) and who hears of its progress within a round. */
export interface RunOptions {
  resume?: boolean;
  onProgress?: (round: number, phase: 'train' | 'evaluate', done: number, total: number) => void;
}

/** One site's numbers in a round. */
export interface SiteRound {
  trainLoss: number;
  val: number;
  test: number;
}

/** What a round produced. */
export interface RoundReport {
  round: number;
  sites: Record<string, SiteRound>;
  meanVal: number;
  meanTest: number;
  seconds: number;
  isBest: boolean;
}

/** The run's result (`summary.json`). */
export interface TrainSummary {
  strategy: StrategyName;
  task: Federation['task'];
  metric: 'accuracy' | 'dice';
  bestRound: number;
  perSiteTest: Record<string, number>;
  meanTest: number;
  wallSeconds: number;
  config: TrainConfig;
}

const TASK = new URL('./client_task.js', import.meta.url).href;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Federated training in simulation: each round every site trains `localEpochs` from the global
 * model on the worker pool, the strategy aggregates every state entry, and the global model is
 * validated and tested on every site. Yields a report per round; outputs go to `config.out`.
 */
export async function* federatedTraining(config: TrainConfig, fed: Federation, pool: WorkerPool, options: RunOptions = {}): AsyncGenerator<RoundReport, TrainSummary> {
  const started = performance.now();
  await mkdir(config.out, { recursive: true });
  const model = createModel(config.model.config, new Rng(config.seed), config.model.amp);
  const strategy = createStrategy(config.strategy, {
    alpha: config.alpha,
    mu: config.mu,
    trainable: new Set(model.params.trainable().keys()),
    normalization: model.params.normalizationNames(),
    clientMomentum: config.optimizer.kind === 'sgd' ? config.optimizer.momentum : 0,
    serverLr: config.serverLr,
    serverEps: 1e-3,
    moonMu: config.moonMu,
    moonTau: config.moonTau,
  });
  let global: NamedArrays = toNamedArrays(model.params.state());
  let optimizerStates = new Map<string, OptimizerState>();
  // Entries each site keeps for itself (FedBN), overriding the global state for that site; and each
  // site's last local model (MOON).
  let siteStates = emptySiteStates();
  const stateFor = (site: string): NamedArrays => ({ ...global, ...siteStates.local.get(site) });
  const sites = fed.sites.map((s) => s.name);
  const totalSamples = fed.sites.reduce((a, s) => a + s.train.size, 0);
  const weights = fed.sites.map((s) => (config.weighting === 'uniform' ? 1 / sites.length : s.train.size / totalSamples));
  let best: RoundReport | undefined;
  let firstRound = 0;
  const metricsFile = path.join(config.out, 'metrics.jsonl');
  const checkpointFile = path.join(config.out, 'checkpoint.hflc');
  if (options.resume === true) {
    const ckpt = await readCheckpoint<TrainConfig, RoundReport | undefined>(checkpointFile);
    assertResumable(checkpointFile, ckpt.header, config, fed.task, sites);
    global = ckpt.global;
    optimizerStates = ckpt.optimizers;
    siteStates = ckpt.siteStates;
    strategy.setState?.(ckpt.server);
    best = ckpt.header.best;
    firstRound = ckpt.header.round + 1;
    // Rounds logged after the checkpoint (a crash between the two writes) are run again.
    const kept = (await readFile(metricsFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.trim() !== '' && (JSON.parse(l) as RoundReport).round < firstRound);
    await writeFileAtomic(metricsFile, [new TextEncoder().encode(kept.map((l) => `${l}\n`).join(''))]);
  } else {
    await writeFileAtomic(metricsFile, []);
  }
  try {
    for (let round = firstRound; round < config.rounds; round++) {
      const roundStart = performance.now();
      const instructions = strategy.configureRound(round);
      const progress = (phase: 'train' | 'evaluate', total: number): (<T>(p: Promise<T>) => Promise<T>) => {
        let done = 0;
        options.onProgress?.(round, phase, 0, total);
        return (p) => p.then((v) => (options.onProgress?.(round, phase, ++done, total), v));
      };
      const trained = progress('train', sites.length);
      const outputs = await Promise.all(
        sites.map((site, i) => {
          const input: LocalTrainInput = {
            data: config.data,
            site,
            model: config.model,
            state: stateFor(site),
            optimizer: config.optimizer,
            ...(optimizerStates.has(site) ? { optimizerState: optimizerStates.get(site)! } : {}),
            instructions,
            ...(instructions.moon !== undefined ? { previousState: siteStates.previous.get(site) ?? global } : {}),
            epochs: config.localEpochs,
            batch: config.batch,
            seed: config.seed * 1_000_003 + round * 1009 + i,
            augment: config.augment,
          };
          return trained(pool.run<LocalTrainOutput>(TASK, 'localTrain', input));
        }),
      );
      outputs.forEach((o) => optimizerStates.set(o.update.site, o.optimizerState));
      const local = strategy.localEntries;
      if (local !== undefined)
        for (const o of outputs) siteStates.local.set(o.update.site, Object.fromEntries(Object.entries(o.update.state).filter(([name]) => local.has(name))));
      if (instructions.moon !== undefined) for (const o of outputs) siteStates.previous.set(o.update.site, o.update.state);
      global = strategy.aggregate(round, global, outputs.map((o) => o.update), weights);
      const evaluated = progress('evaluate', sites.length * 2);
      const evals = await Promise.all(
        sites.flatMap((site) =>
          (['val', 'test'] as const).map((split) => {
            const input: EvaluateInput = { data: config.data, site, split, model: config.model, state: stateFor(site), batch: config.batch };
            return evaluated(pool.run<EvaluateOutput>(TASK, 'evaluate', input));
          }),
        ),
      );
      const perSite: Record<string, SiteRound> = {};
      for (const o of outputs) perSite[o.update.site] = { trainLoss: o.update.trainLoss, val: Number.NaN, test: Number.NaN };
      for (const e of evals) perSite[e.site]![e.split] = e.metric;
      const report: RoundReport = {
        round,
        sites: perSite,
        meanVal: mean(sites.map((s) => perSite[s]!.val)),
        meanTest: mean(sites.map((s) => perSite[s]!.test)),
        seconds: (performance.now() - roundStart) / 1000,
        isBest: best === undefined || mean(sites.map((s) => perSite[s]!.val)) > best.meanVal,
      };
      const state = fromNamedArrays(global);
      model.params.loadState(state);
      tf.dispose([...state.values()]);
      await saveModel(path.join(config.out, 'latest.hflm'), model);
      if (report.isBest) {
        best = report;
        siteStates.bestLocal = new Map(siteStates.local);
        await saveModel(path.join(config.out, 'best.hflm'), model);
      }
      await writeCheckpoint(checkpointFile, {
        header: {
          format: 'harmofl-checkpoint',
          version: 1,
          round,
          best,
          config,
          task: fed.task,
          sites,
          optimizers: Object.fromEntries([...optimizerStates].map(([site, o]) => [site, { kind: o.kind, step: o.step }])),
        },
        global,
        optimizers: optimizerStates,
        server: strategy.getState?.() ?? {},
        siteStates,
      });
      await appendFile(metricsFile, `${JSON.stringify({ ...report, elapsedSeconds: (performance.now() - started) / 1000 })}\n`);
      yield report;
    }
  } finally {
    model.dispose();
  }
  if (best === undefined) throw new Error('no round ran (rounds must be at least 1)');
  const summary: TrainSummary = {
    strategy: config.strategy,
    task: fed.task,
    metric: fed.task === 'classification' ? 'accuracy' : 'dice',
    bestRound: best.round,
    perSiteTest: Object.fromEntries(sites.map((s) => [s, best!.sites[s]!.test])),
    meanTest: best.meanTest,
    wallSeconds: (performance.now() - started) / 1000,
    config,
  };
  await writeFileAtomic(path.join(config.out, 'summary.json'), [new TextEncoder().encode(`${JSON.stringify(summary, null, 2)}\n`)]);
  return summary;
}

/** A checkpoint made with another task, model, strategy or federation cannot be continued. */
function assertResumable(file: string, h: CheckpointHeader<TrainConfig, RoundReport | undefined>, config: TrainConfig, task: string, sites: string[]): void {
  const differs = (what: string, was: unknown, now: unknown): never => {
    throw new Error(`${file} was made with ${what} ${JSON.stringify(was)}; this run has ${JSON.stringify(now)}. Use another --out, or the same settings`);
  };
  if (h.task !== task) differs('task', h.task, task);
  if (h.config.strategy !== config.strategy) differs('strategy', h.config.strategy, config.strategy);
  if (!isDeepStrictEqual(h.config.model, config.model)) differs('model', h.config.model, config.model);
  if (!isDeepStrictEqual(h.sites, sites)) differs('sites', h.sites, sites);
  if (h.round + 1 >= config.rounds) throw new Error(`${file}: the run already finished its ${config.rounds} rounds`);
}

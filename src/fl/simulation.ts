import { appendFile, mkdir } from 'node:fs/promises';
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

/** Everything a federated run depends on; saved with its results. */
export interface TrainConfig {
  data: DataRef;
  strategy: StrategyName;
  alpha: number;
  mu: number;
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
export async function* federatedTraining(config: TrainConfig, fed: Federation, pool: WorkerPool): AsyncGenerator<RoundReport, TrainSummary> {
  const started = performance.now();
  await mkdir(config.out, { recursive: true });
  const strategy = createStrategy(config.strategy, { alpha: config.alpha, mu: config.mu });
  const model = createModel(config.model.config, new Rng(config.seed), config.model.amp);
  let global: NamedArrays = toNamedArrays(model.params.state());
  const optimizerStates = new Map<string, OptimizerState>();
  const sites = fed.sites.map((s) => s.name);
  const totalSamples = fed.sites.reduce((a, s) => a + s.train.size, 0);
  const weights = fed.sites.map((s) => (config.weighting === 'uniform' ? 1 / sites.length : s.train.size / totalSamples));
  let best: RoundReport | undefined;
  const metricsFile = path.join(config.out, 'metrics.jsonl');
  await writeFileAtomic(metricsFile, []);
  try {
    for (let round = 0; round < config.rounds; round++) {
      const roundStart = performance.now();
      const instructions = strategy.configureRound(round);
      const outputs = await Promise.all(
        sites.map((site, i) => {
          const input: LocalTrainInput = {
            data: config.data,
            site,
            model: config.model,
            state: global,
            optimizer: config.optimizer,
            ...(optimizerStates.has(site) ? { optimizerState: optimizerStates.get(site)! } : {}),
            instructions,
            epochs: config.localEpochs,
            batch: config.batch,
            seed: config.seed * 1_000_003 + round * 1009 + i,
            augment: config.augment,
          };
          return pool.run<LocalTrainOutput>(TASK, 'localTrain', input);
        }),
      );
      outputs.forEach((o) => optimizerStates.set(o.update.site, o.optimizerState));
      global = strategy.aggregate(round, global, outputs.map((o) => o.update), weights);
      const evals = await Promise.all(
        sites.flatMap((site) =>
          (['val', 'test'] as const).map((split) => {
            const input: EvaluateInput = { data: config.data, site, split, model: config.model, state: global, batch: config.batch };
            return pool.run<EvaluateOutput>(TASK, 'evaluate', input);
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
        await saveModel(path.join(config.out, 'best.hflm'), model);
      }
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

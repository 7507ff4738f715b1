import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { writeSyntheticFederations } from '../data/synthetic.js';
import type { BackendChoice } from '../engine/backend.js';
import { allStrategyOptions } from '../fl/strategies/index.js';
import { compareFromCli, comparisonTable } from './compare_command.js';
import { addBackendOption, addWorkersOption, parsePositiveInt } from './options.js';
import type { TrainOptions } from './train_options.js';

interface DemoOptions {
  data: string;
  out: string;
  rounds?: number;
  workers: number;
  backend: BackendChoice;
  threads?: number;
}

const STRATEGIES = ['harmofl', 'fedavg', 'fedbn'] as const;

/** Options of one demo comparison: small models and a few rounds, so both tasks finish in minutes on 2 cores. */
function demoRun(o: DemoOptions, data: string, out: string, segmentation: boolean): TrainOptions {
  return {
    data,
    out,
    rounds: o.rounds ?? (segmentation ? 10 : 30),
    localEpochs: 1,
    batch: segmentation ? 8 : 16,
    lr: segmentation ? 1e-3 : 1e-2,
    optimizer: segmentation ? 'adam' : 'sgd',
    model: segmentation ? 'unet' : 'densenet',
    ...Object.fromEntries(allStrategyOptions().map((s) => [s.key, s.default])),
    ampL: 0,
    ampMomentum: 0,
    seed: 0,
    workers: o.workers,
    weighting: 'uniform',
    backend: o.backend,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
  };
}

/** `harmofl demo`: the main job. Synthetic federations, then HarmoFL, FedAvg and FedBN compared on a classification and a segmentation task. */
export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description(
      'generate the synthetic federations if missing, compare harmofl, fedavg and fedbn on classification and segmentation, write reports',
    )
    .option('--data <dir>', 'where the synthetic federations live (written when missing)', 'data/synthetic')
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--rounds <n>', 'rounds per run (default 30 classification, 10 segmentation)', (v: string) => parsePositiveInt(v, '--rounds'));
  addBackendOption(addWorkersOption(cmd)).action(async (o: DemoOptions) => {
    const started = performance.now();
    if (!existsSync(path.join(o.data, 'camelyon17')) || !existsSync(path.join(o.data, 'nuclei'))) {
      process.stderr.write(`writing synthetic federations to ${o.data}...\n`);
      await writeSyntheticFederations(o.data);
    }
    const lines: string[] = [];
    for (const [task, dir, segmentation] of [
      ['classification (Camelyon17-style, accuracy %)', 'camelyon17', false],
      ['segmentation (nuclei-style, Dice %)', 'nuclei', true],
    ] as const) {
      const out = path.join(o.out, dir);
      const { html, results } = await compareFromCli(demoRun(o, path.join(o.data, dir), out, segmentation), STRATEGIES);
      lines.push(`${task}\n${comparisonTable(results)}\nreport: ${html}\n`);
    }
    process.stdout.write(`\n${lines.join('\n')}\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  });
}

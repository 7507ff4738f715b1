import type { Command } from 'commander';
import { defaultThreads } from '../engine/node_backend.js';
import type { BackendChoice } from '../engine/backend.js';
import { WorkerPool } from '../engine/worker_pool.js';
import { prepareRun, type PreparedRun, type RunOptions } from '../experiment/prepare.js';
import { SIMULATION_TASKS } from '../fl/simulate.js';
import type { SimulationTasks } from '../fl/simulation_tasks.js';
import { summaryTable } from '../report/federation_summary.js';
import type { EventListener } from '../experiment/train.js';
import { allStrategyOptions } from '../fl/strategies/index.js';
import { formatTable } from '../report/table.js';
import { addBackendOption, addWorkersOption, initCommandBackend, oneOf, parseBound, parseList, parsePositiveInt } from './options.js';

/** What commander hands a training command: the run options plus each strategy option by key. */
export interface TrainOptions extends Omit<RunOptions, 'strategyOptions'> {
  wkIters?: number;
  localEpochs: number;
  ampL: number;
  ampMomentum: number;
  seed: number;
  workers: number;
  weighting: 'uniform' | 'samples';
  out: string;
  backend: BackendChoice;
  /** Kernel threads per client (default: the cores shared among the workers). */
  threads?: number;
  [strategyOption: string]: unknown;
}

/** Adds the data (unless `data: false`), model, optimization and run options, and every strategy's own options, to a command. */
export function addTrainOptions(cmd: Command, defaultOut: string, options: { data?: boolean } = {}): Command {
  // The coordinator of a deployment has no data (`data: false`): its sites do.
  if (options.data !== false)
    cmd.requiredOption('--data <dir>', 'federation folder (manifest.csv, Camelyon17-WILDS metadata.csv, or prostate site folders)');
  cmd
    .option('--rounds <n>', 'communication rounds (reference: 100 classification, 500 segmentation)', (v: string) =>
      parsePositiveInt(v, '--rounds'),
    )
    .option('--local-epochs <n>', 'local epochs per round (alias --wk-iters)', (v: string) => parsePositiveInt(v, '--local-epochs'), 1)
    .option('--wk-iters <n>', 'alias of --local-epochs', (v: string) => parsePositiveInt(v, '--wk-iters'))
    .option('--lr <x>', 'learning rate (reference: 1e-3 SGD classification, 1e-4 Adam segmentation)', parseBound('--lr', 'positive'))
    .option('--batch <n>', 'batch size (reference: 128 classification, 16 segmentation)', (v: string) => parsePositiveInt(v, '--batch'));
  for (const o of allStrategyOptions()) cmd.option(o.flag, o.help, parseBound(o.flag.split(' ')[0]!, o.min), o.default);
  cmd
    .option('--optimizer <name>', 'sgd | adam (default by task)', oneOf('--optimizer', ['sgd', 'adam'] as const))
    .option(
      '--model <name>',
      'densenet121 | unet32 | densenet | unet (default: the reference model of the task)',
      oneOf('--model', ['densenet121', 'unet32', 'densenet', 'unet'] as const),
    )
    .option('--features <n>', 'densenet init features / unet base features', (v: string) => parsePositiveInt(v, '--features'))
    .option('--growth <n>', 'densenet growth rate', (v: string) => parsePositiveInt(v, '--growth'))
    .option('--blocks <a,b,c,d>', 'densenet block config', (v: string) => parseList(v).map((b) => parsePositiveInt(b, '--blocks')))
    .option('--image-size <px>', 'resize manifest images to this square size', (v: string) => parsePositiveInt(v, '--image-size'))
    .option('--amp-l <L>', 'AmpNorm low-frequency ratio (0: DC only, the released code)', parseBound('--amp-l', 'zero'), 0)
    .option('--amp-momentum <m>', 'AmpNorm EMA momentum (0: the released code, 0.1: the paper)', parseBound('--amp-momentum', 'zero'), 0)
    .option('--seed <n>', 'seed (same seed and workers: same metrics)', (v: string) => Number(v), 0)
    .option('--imbalance', "keep every site's full training set (default: cut to the smallest site, as the reference)")
    .option('--weighting <w>', 'uniform (reference) | samples', oneOf('--weighting', ['uniform', 'samples'] as const), 'uniform' as const)
    .option('--out <dir>', 'output folder', defaultOut);
  return addBackendOption(addWorkersOption(cmd));
}

/** The library's run options from the parsed command line. */
export function runOptionsOf(o: TrainOptions): RunOptions {
  const strategyOptions = Object.fromEntries(allStrategyOptions().map((s) => [s.key, o[s.key] as number | undefined]));
  const { wkIters, localEpochs, ...rest } = o;
  return { ...(rest as RunOptions), localEpochs: wkIters ?? localEpochs, strategyOptions };
}

/** The CLI's view of a run: a progress bar on a terminal, and a per-site table after each round. */
export const printEvents: EventListener = (event, config) => {
  if (event.type === 'progress') {
    if (!process.stderr.isTTY) return;
    const width = 20;
    const filled = Math.round((width * event.done) / event.total);
    process.stderr.write(
      `\r${config.strategy} round ${event.round + 1}/${config.rounds} ${event.phase.padEnd(8)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${event.done}/${event.total} sites`,
    );
    if (event.done === event.total) process.stderr.write('\r\x1b[K');
    return;
  }
  const r = event.report;
  const rows = Object.entries(r.sites).map(([site, v]) => [
    site,
    v.trainLoss.toFixed(4),
    (v.val * 100).toFixed(2),
    (v.test * 100).toFixed(2),
  ]);
  process.stderr.write(
    `${config.strategy} round ${r.round + 1}/${config.rounds} (${r.seconds.toFixed(1)} s)${r.isBest ? ', best so far' : ''}\n${formatTable(['site', 'train loss', 'val %', 'test %'], [...rows, ['mean', '', (r.meanVal * 100).toFixed(2), (r.meanTest * 100).toFixed(2)]])}\n`,
  );
  for (const f of r.failures ?? []) process.stderr.write(`  ${f.site}: ${f.kind}: ${f.reason}\n`);
};

/** Starts the backend and prepares the run, printing both to stderr. */
export async function prepareFromCli(o: TrainOptions): Promise<PreparedRun> {
  const backend = await initCommandBackend(o);
  process.stderr.write(`backend: ${backend.name} (${backend.detail})\n`);
  const prepared = await prepareRun(runOptionsOf(o));
  process.stderr.write(`${summaryTable(prepared.fed, prepared.summary)}\n`);
  return prepared;
}

/** Runs `work` with a simulation worker pool of `o.workers` threads (their kernels sharing the cores), closing it afterwards. */
export async function withPool<T>(
  o: Pick<TrainOptions, 'workers' | 'backend' | 'threads'>,
  work: (pool: WorkerPool<SimulationTasks>) => Promise<T>,
): Promise<T> {
  const pool = new WorkerPool<SimulationTasks>(o.workers, SIMULATION_TASKS, o.backend, o.threads ?? defaultThreads(o.workers));
  try {
    await pool.ready();
    return await work(pool);
  } finally {
    await pool.close();
  }
}

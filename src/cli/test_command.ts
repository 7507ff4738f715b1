import path from 'node:path';
import type { Command } from 'commander';
import { detectFormat, loadFederation } from '../data/federation.js';
import type { BackendChoice } from '../engine/backend.js';
import { toNamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import { assertTaskFits, evaluateSites, siteEntriesOf } from '../experiment/evaluate.js';
import { readCheckpoint } from '../fl/checkpoint.js';
import type { TrainConfig } from '../fl/train_config.js';
import { loadModel } from '../harmofl/model_file.js';
import { formatTable } from '../report/table.js';
import { addBackendOption, initCommandBackend, parsePositiveInt } from './options.js';

interface TestOptions {
  checkpoint: string;
  data: string;
  batch: number;
  seed?: number;
  json?: boolean;
  backend: BackendChoice;
  threads?: number;
}

/** The data seed of the run that saved `modelFile` (the splits depend on it), from checkpoint.hflc beside it. */
async function runSeed(modelFile: string): Promise<number | undefined> {
  try {
    return (await readCheckpoint<TrainConfig, unknown>(path.join(path.dirname(modelFile), 'checkpoint.hflc'))).header.config.data.seed;
  } catch {
    return undefined;
  }
}

/** `harmofl test`: a saved model on every site's test split. */
export function registerTest(program: Command): void {
  const cmd = program
    .command('test')
    .description("evaluate a saved model (best.hflm / latest.hflm) on every site's test split")
    .requiredOption('--checkpoint <file>', 'model file written by harmofl train')
    .requiredOption('--data <dir>', 'federation folder')
    .option(
      '--batch <n>',
      'evaluation batch (BatchNorm uses batch statistics, as the reference)',
      (v: string) => parsePositiveInt(v, '--batch'),
      16,
    )
    .option('--seed <n>', "split seed (default: the training run's, from checkpoint.hflc beside the model)", (v: string) => Number(v))
    .option('--json', 'print JSON');
  addBackendOption(cmd).action(async (o: TestOptions) => {
    const backend = await initCommandBackend(o);
    process.stderr.write(`backend: ${backend.name}\n`);
    const model = await loadModel(o.checkpoint, new Rng(0));
    const state = toNamedArrays(model.params.state());
    const ref = { config: model.config, amp: model.inputNorm.options };
    model.dispose();
    const fed = await loadFederation(o.data, { format: detectFormat(o.data), seed: o.seed ?? (await runSeed(o.checkpoint)) ?? 0 });
    assertTaskFits(ref, fed, o.checkpoint, o.data);
    const siteEntries = await siteEntriesOf(
      o.checkpoint,
      fed.sites.map((s) => s.name),
    );
    if (siteEntries.size > 0)
      process.stderr.write(
        `each site is evaluated with its own normalization state (${siteEntries.size} sites, from ${path.join(path.dirname(o.checkpoint), 'clients')})\n`,
      );
    const results = await evaluateSites(ref, state, fed, 'test', o.batch, siteEntries);
    const metric = fed.task === 'classification' ? 'accuracy' : 'dice';
    const meanTest = results.reduce((a, r) => a + r.metric, 0) / results.length;
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify({ metric, perSiteTest: Object.fromEntries(results.map((r) => [r.site, r.metric])), meanTest })}\n`,
      );
      return;
    }
    const rows = results.map((r) => [r.site, String(r.samples), (r.metric * 100).toFixed(2)]);
    process.stdout.write(`${formatTable(['site', 'test samples', `${metric} %`], [...rows, ['mean', '', (meanTest * 100).toFixed(2)]])}\n`);
  });
}

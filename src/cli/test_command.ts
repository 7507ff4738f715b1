import path from 'node:path';
import type { Command } from 'commander';
import { detectFormat, loadFederation } from '../data/federation.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { toNamedArrays, type NamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import { readCheckpoint } from '../fl/checkpoint.js';
import { evaluate, type DataRef } from '../fl/client_task.js';
import type { TrainConfig } from '../fl/simulation.js';
import { loadModel } from '../nn/model_file.js';
import { formatTable } from '../report/table.js';
import { parseBackend, parsePositiveInt } from './options.js';

interface TestOptions {
  checkpoint: string;
  data: string;
  batch: number;
  seed?: number;
  json?: boolean;
  backend: BackendChoice;
}

/** What the run that saved `modelFile` left beside it: its data seed (the splits depend on it) and each site's own entries (FedBN's normalization) for that model. */
async function runContext(modelFile: string): Promise<{ seed?: number; siteEntries: Map<string, NamedArrays> }> {
  let ckpt;
  try {
    ckpt = await readCheckpoint<TrainConfig, unknown>(path.join(path.dirname(modelFile), 'checkpoint.hflc'));
  } catch {
    return { siteEntries: new Map() };
  }
  const best = path.basename(modelFile).startsWith('best');
  return { seed: ckpt.header.config.data.seed, siteEntries: ckpt.siteStates[best ? 'bestLocal' : 'local'] };
}

/** `harmofl test`: a saved model on every site's test split. */
export function registerTest(program: Command): void {
  program
    .command('test')
    .description("evaluate a saved model (best.hflm / latest.hflm) on every site's test split")
    .requiredOption('--checkpoint <file>', 'model file written by harmofl train')
    .requiredOption('--data <dir>', 'federation folder')
    .option('--batch <n>', 'evaluation batch (BatchNorm uses batch statistics, as the reference)', (v: string) => parsePositiveInt(v, '--batch'), 16)
    .option('--seed <n>', "split seed (default: the training run's, from checkpoint.hflc beside the model)", (v: string) => Number(v))
    .option('--json', 'print JSON')
    .option('--backend <name>', 'auto | wasm | tensorflow | cpu', parseBackend, 'auto' as BackendChoice)
    .action(async (o: TestOptions) => {
      const backend = await initBackend(o.backend);
      process.stderr.write(`backend: ${backend.name}\n`);
      const model = await loadModel(o.checkpoint, new Rng(0));
      const context = await runContext(o.checkpoint);
      const data: DataRef = { dir: o.data, format: detectFormat(o.data), imbalance: false, seed: o.seed ?? context.seed ?? 0 };
      if (context.siteEntries.size > 0) process.stderr.write(`each site is evaluated with its own normalization state (${context.siteEntries.size} sites, from checkpoint.hflc)\n`);
      const state = toNamedArrays(model.params.state());
      const ref = { config: model.config, amp: model.ampNorm.options };
      model.dispose();
      const fed = await loadFederation(o.data, { format: data.format, seed: data.seed });
      const results = [];
      for (const site of fed.sites) {
        const siteState = { ...state, ...context.siteEntries.get(site.name) };
        results.push(await evaluate({ data, site: site.name, split: 'test', model: ref, state: siteState, batch: o.batch }));
      }
      const metric = fed.task === 'classification' ? 'accuracy' : 'dice';
      const meanTest = results.reduce((a, r) => a + r.metric, 0) / results.length;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ metric, perSiteTest: Object.fromEntries(results.map((r) => [r.site, r.metric])), meanTest })}\n`);
        return;
      }
      const rows = results.map((r) => [r.site, String(r.samples), (r.metric * 100).toFixed(2)]);
      process.stdout.write(`${formatTable(['site', 'test samples', `${metric} %`], [...rows, ['mean', '', (meanTest * 100).toFixed(2)]])}\n`);
    });
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../engine/atomic_write.js';
import { WorkerPool } from '../engine/worker_pool.js';
import type { RoundReport } from '../fl/simulation.js';
import { STRATEGY_NAMES, usesAmpNorm, type StrategyName } from '../fl/strategies.js';
import { ampNormPictures } from '../report/ampnorm_pictures.js';
import { comparisonHtml, comparisonMarkdown, type StrategyResult } from '../report/comparison.js';
import { formatTable } from '../report/table.js';
import { parseList } from './options.js';
import { addTrainOptions, prepareRun, runTraining, type TrainOptions } from './train_options.js';

/** Runs `strategies` on one federation with the same seeds; writes each run under `out/<strategy>` and the reports in `out`. Returns report.html's path. */
export async function compareStrategies(o: TrainOptions, strategies: StrategyName[]): Promise<{ html: string; results: StrategyResult[] }> {
  const { fed, configFor } = await prepareRun(o);
  const pool = new WorkerPool(o.workers, o.backend);
  const results: StrategyResult[] = [];
  try {
    await pool.ready();
    for (const strategy of strategies) {
      const out = path.join(o.out, strategy);
      const summary = await runTraining(configFor(strategy, out), fed, pool, false);
      const rounds = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RoundReport);
      results.push({ summary, rounds });
      process.stderr.write(`${strategy}: mean test ${summary.metric} ${(summary.meanTest * 100).toFixed(2)}% at round ${summary.bestRound + 1}\n`);
    }
  } finally {
    await pool.close();
  }
  const sites = fed.sites.map((s) => s.name);
  const amp = strategies.find(usesAmpNorm);
  const pictures = amp === undefined ? [] : await ampNormPictures(path.join(o.out, amp, 'best.hflm'), fed);
  const encode = (text: string): Uint8Array[] => [new TextEncoder().encode(text)];
  await writeFileAtomic(path.join(o.out, 'report.md'), encode(comparisonMarkdown(results, sites)));
  const html = path.join(o.out, 'report.html');
  await writeFileAtomic(html, encode(comparisonHtml(results, sites, pictures)));
  return { html, results };
}

/** The comparison as a console table. */
export function comparisonTable(results: StrategyResult[]): string {
  const sites = Object.keys(results[0]!.summary.perSiteTest);
  return formatTable(
    ['strategy', ...sites, 'mean'],
    results.map((r) => [r.summary.strategy, ...sites.map((s) => (r.summary.perSiteTest[s]! * 100).toFixed(2)), (r.summary.meanTest * 100).toFixed(2)]),
  );
}

/** `harmofl compare`: several strategies on the same federation and seeds, with reports. */
export function registerCompare(program: Command): void {
  addTrainOptions(program.command('compare').description('run several strategies on the same federation and seeds; write report.md and report.html'), 'runs/compare')
    .option('--strategies <a,b,c>', `comma-separated, from: ${STRATEGY_NAMES.join(', ')}`, (v: string) => parseList(v), ['fedavg', 'harmofl'])
    .action(async (o: TrainOptions & { strategies: string[] }) => {
      const unknown = o.strategies.filter((s) => !(STRATEGY_NAMES as readonly string[]).includes(s));
      if (unknown.length > 0) throw new Error(`unknown strategy ${unknown.join(', ')}; choose from ${STRATEGY_NAMES.join(', ')}`);
      const { html, results } = await compareStrategies(o, o.strategies as StrategyName[]);
      process.stdout.write(`${comparisonTable(results)}\nreport: ${html}\n`);
    });
}

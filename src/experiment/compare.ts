import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { WorkerPool } from '../engine/worker_pool.js';
import type { RoundReport } from '../fl/round_loop.js';
import type { SimulationTasks } from '../fl/simulation_tasks.js';
import { strategyNamed } from '../fl/strategies/index.js';
import { ampNormPictures } from '../report/ampnorm_pictures.js';
import { comparisonHtml, comparisonMarkdown, type SeedRuns, type StrategyResult } from '../report/comparison.js';
import { predictTestSplits, type TestPredictions } from '../report/predictions.js';
import { siteEntriesOf } from './evaluate.js';
import type { PreparedRun } from './prepare.js';
import { train, type EventListener } from './train.js';

/** What a comparison produced: the first seed's run per strategy, every seed's runs, and the report's path. */
export interface Comparison {
  html: string;
  results: StrategyResult[];
  seedRuns: SeedRuns;
}

/**
 * Runs `strategies` one after another on one federation with the same seeds, once per training
 * seed in `seeds` (the data splits stay those of the prepared run); each run goes to
 * `out/<strategy>` (one seed) or `out/<strategy>/seed-<n>`, the reports (`report.md`,
 * self-contained `report.html`) to `out`.
 */
export async function compareStrategies(
  prepared: PreparedRun,
  strategies: readonly string[],
  out: string,
  pool: WorkerPool<SimulationTasks>,
  options: { listener?: EventListener; seeds?: readonly number[] } = {},
): Promise<Comparison> {
  const seedRuns = new Map<string, StrategyResult[]>(strategies.map((s) => [s, []]));
  const seeds = options.seeds ?? [undefined];
  for (const seed of seeds) {
    for (const strategy of strategies) {
      const dir = seeds.length === 1 ? path.join(out, strategy) : path.join(out, strategy, `seed-${seed}`);
      const config = prepared.configFor(strategy, dir);
      const summary = await train(
        seed === undefined ? config : { ...config, seed },
        prepared.fed,
        pool,
        options.listener === undefined ? {} : { listener: options.listener },
      );
      const rounds = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RoundReport);
      seedRuns.get(strategy)!.push({ summary, rounds });
    }
  }
  const results = strategies.map((s) => seedRuns.get(s)![0]!);
  const sites = prepared.fed.sites.map((s) => s.name);
  const amp = strategies.find((s) => strategyNamed(s).model.ampNorm === true);
  const pictures =
    amp === undefined
      ? []
      : await ampNormPictures(path.join(results[strategies.indexOf(amp)]!.summary.config.out, 'best.hflm'), prepared.fed);
  // The first seed's best models, as for the AmpNorm pictures.
  const predictions = new Map<string, TestPredictions>();
  for (const r of results) {
    const model = path.join(r.summary.config.out, 'best.hflm');
    predictions.set(
      r.summary.strategy,
      await predictTestSplits(model, prepared.fed, r.summary.config.batch, await siteEntriesOf(model, sites)),
    );
  }
  const encode = (text: string): Uint8Array[] => [new TextEncoder().encode(text)];
  await writeFileAtomic(path.join(out, 'report.md'), encode(comparisonMarkdown(results, sites, seedRuns)));
  const html = path.join(out, 'report.html');
  await writeFileAtomic(html, encode(comparisonHtml(results, sites, pictures, seedRuns, predictions)));
  return { html, results, seedRuns };
}

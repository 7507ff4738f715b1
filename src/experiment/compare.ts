import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { WorkerPool } from '../engine/worker_pool.js';
import type { RoundReport } from '../fl/round_loop.js';
import type { SimulationTasks } from '../fl/simulation_tasks.js';
import { strategyNamed } from '../fl/strategies/index.js';
import { ampNormPictures } from '../report/ampnorm_pictures.js';
import { comparisonHtml, comparisonMarkdown, type StrategyResult } from '../report/comparison.js';
import type { PreparedRun } from './prepare.js';
import { train, type EventListener } from './train.js';

/**
 * Runs `strategies` one after another on one federation with the same seeds; each run goes to
 * `out/<strategy>`, the reports (`report.md`, self-contained `report.html`) to `out`.
 */
export async function compareStrategies(
  prepared: PreparedRun,
  strategies: readonly string[],
  out: string,
  pool: WorkerPool<SimulationTasks>,
  listener?: EventListener,
): Promise<{ html: string; results: StrategyResult[] }> {
  const results: StrategyResult[] = [];
  for (const strategy of strategies) {
    const dir = path.join(out, strategy);
    const summary = await train(prepared.configFor(strategy, dir), prepared.fed, pool, listener === undefined ? {} : { listener });
    const rounds = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RoundReport);
    results.push({ summary, rounds });
  }
  const sites = prepared.fed.sites.map((s) => s.name);
  const amp = strategies.find((s) => strategyNamed(s).model.ampNorm === true);
  const pictures = amp === undefined ? [] : await ampNormPictures(path.join(out, amp, 'best.hflm'), prepared.fed);
  const encode = (text: string): Uint8Array[] => [new TextEncoder().encode(text)];
  await writeFileAtomic(path.join(out, 'report.md'), encode(comparisonMarkdown(results, sites)));
  const html = path.join(out, 'report.html');
  await writeFileAtomic(html, encode(comparisonHtml(results, sites, pictures)));
  return { html, results };
}

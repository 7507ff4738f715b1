import type { Command } from 'commander';
import { compareStrategies } from '../experiment/compare.js';
import { STRATEGY_NAMES } from '../fl/strategies/index.js';
import type { StrategyResult } from '../report/comparison.js';
import { formatTable } from '../report/table.js';
import { parseList } from './options.js';
import { addTrainOptions, prepareFromCli, printEvents, withPool, type TrainOptions } from './train_options.js';

/** The comparison as a console table. */
export function comparisonTable(results: StrategyResult[]): string {
  const sites = Object.keys(results[0]!.summary.perSiteTest);
  return formatTable(
    ['strategy', ...sites, 'mean'],
    results.map((r) => [r.summary.strategy, ...sites.map((s) => (r.summary.perSiteTest[s]! * 100).toFixed(2)), (r.summary.meanTest * 100).toFixed(2)]),
  );
}

/** Prepares, runs and reports a comparison from command-line options; returns the report's path and the results. */
export async function compareFromCli(o: TrainOptions, strategies: readonly string[]): Promise<{ html: string; results: StrategyResult[] }> {
  const unknown = strategies.filter((s) => !STRATEGY_NAMES.includes(s));
  if (unknown.length > 0) throw new Error(`unknown strategy ${unknown.join(', ')}; choose from ${STRATEGY_NAMES.join(', ')}`);
  const prepared = await prepareFromCli(o);
  const outcome = await withPool(o, (pool) =>
    compareStrategies(prepared, strategies, o.out, pool, (event, config) => {
      printEvents(event, config);
      if (event.type === 'round' && event.report.round + 1 === config.rounds)
        process.stderr.write(`${config.strategy}: mean test ${(event.best.meanTest * 100).toFixed(2)}% at round ${event.best.round + 1}\n`);
    }),
  );
  return outcome;
}

/** `harmofl compare`: several strategies on the same federation and seeds, with reports. */
export function registerCompare(program: Command): void {
  addTrainOptions(program.command('compare').description('run several strategies on the same federation and seeds; write report.md and report.html'), 'runs/compare')
    .option('--strategies <a,b,c>', `comma-separated, from: ${STRATEGY_NAMES.join(', ')}`, (v: string) => parseList(v), ['fedavg', 'harmofl'])
    .action(async (o: TrainOptions & { strategies: string[] }) => {
      const { html, results } = await compareFromCli(o, o.strategies);
      process.stdout.write(`${comparisonTable(results)}\nreport: ${html}\n`);
    });
}

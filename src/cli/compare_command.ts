import { InvalidArgumentError, type Command } from 'commander';
import { compareStrategies, type Comparison } from '../experiment/compare.js';
import { STRATEGY_NAMES } from '../fl/strategies/index.js';
import { seedRows, type StrategyResult } from '../report/comparison.js';
import { formatTable } from '../report/table.js';
import { parseList } from './options.js';
import { addTrainOptions, prepareFromCli, printEvents, withPool, type TrainOptions } from './train_options.js';

/** The comparison as a console table. */
export function comparisonTable(results: StrategyResult[]): string {
  const sites = Object.keys(results[0]!.summary.perSiteTest);
  return formatTable(
    ['strategy', ...sites, 'mean'],
    results.map((r) => [
      r.summary.strategy,
      ...sites.map((s) => (r.summary.perSiteTest[s]! * 100).toFixed(2)),
      (r.summary.meanTest * 100).toFixed(2),
    ]),
  );
}

/** The across-seeds figures as a console table (nothing for one seed). */
function seedTable(c: Comparison): string {
  const rows = seedRows(c.seedRuns);
  if (rows.every((r) => r.seeds < 2)) return '';
  const pct = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}`;
  return `\nacross seeds (mean test %, mean ± std; paired difference to fedavg with 95% CI)\n${formatTable(
    ['strategy', 'seeds', 'mean ± std', 'vs fedavg [95% CI]'],
    rows.map((r) => [
      r.strategy,
      String(r.seeds),
      `${(r.mean * 100).toFixed(2)} ± ${(r.std * 100).toFixed(2)}`,
      r.vsBaseline === undefined ? '' : `${pct(r.vsBaseline.mean)} [${pct(r.vsBaseline.low)}, ${pct(r.vsBaseline.high)}]`,
    ]),
  )}`;
}

/** Prepares, runs and reports a comparison from command-line options; returns the report's path and the results. */
export async function compareFromCli(o: TrainOptions, strategies: readonly string[], seeds?: readonly number[]): Promise<Comparison> {
  const unknown = strategies.filter((s) => !STRATEGY_NAMES.includes(s));
  if (unknown.length > 0) throw new Error(`unknown strategy ${unknown.join(', ')}; choose from ${STRATEGY_NAMES.join(', ')}`);
  const prepared = await prepareFromCli(o);
  const outcome = await withPool(o, (pool) =>
    compareStrategies(prepared, strategies, o.out, pool, {
      ...(seeds !== undefined ? { seeds } : {}),
      listener: (event, config) => {
        printEvents(event, config);
        if (event.type === 'round' && event.report.round + 1 === config.rounds)
          process.stderr.write(
            `${config.strategy} (seed ${config.seed}): mean test ${(event.best.meanTest * 100).toFixed(2)}% at round ${event.best.round + 1}\n`,
          );
      },
    }),
  );
  return outcome;
}

/** `harmofl compare`: several strategies on the same federation and seeds, with reports. */
export function registerCompare(program: Command): void {
  addTrainOptions(
    program.command('compare').description('run several strategies on the same federation and seeds; write report.md and report.html'),
    'runs/compare',
  )
    .option('--strategies <a,b,c>', `comma-separated, from: ${STRATEGY_NAMES.join(', ')}`, (v: string) => parseList(v), [
      'fedavg',
      'harmofl',
    ])
    .option(
      '--seeds <a,b,c>',
      'run every strategy once per training seed (the data splits stay those of --seed); reports mean ± std and paired differences',
      (v: string) =>
        parseList(v).map((x) => {
          const n = Number(x);
          if (!Number.isInteger(n)) throw new InvalidArgumentError(`--seeds takes integers, got "${x}"`);
          return n;
        }),
    )
    .action(async (o: TrainOptions & { strategies: string[]; seeds?: number[] }) => {
      const c = await compareFromCli(o, o.strategies, o.seeds);
      process.stdout.write(`${comparisonTable(c.results)}${seedTable(c)}\nreport: ${c.html}\n`);
    });
}

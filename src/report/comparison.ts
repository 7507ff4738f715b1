import type { RoundReport } from '../fl/round_loop.js';
import type { TrainSummary } from '../fl/train_config.js';
import { meanStd, pairedDifference } from './seed_statistics.js';
import { esc } from './html.js';
import { predictionsHtml, type TestPredictions } from './predictions.js';
import { siteCurvesHtml, strategySeries } from './site_curves.js';
import { lineChart } from './svg_chart.js';

/** One strategy's outcome: its summary and its per-round metrics. */
export interface StrategyResult {
  summary: TrainSummary;
  rounds: RoundReport[];
}

/** Before/after AmpNorm images of one site, as PNG data URIs. */
export interface AmpNormPicture {
  site: string;
  before: string;
  after: string;
}

const pct = (v: number): string => (v * 100).toFixed(2);

interface Row {
  strategy: string;
  perSite: number[];
  mean: number;
  std: number;
}

/** Per-strategy test metric per site at each run's best round, with the mean and standard deviation across sites. */
function rows(results: StrategyResult[], sites: string[]): Row[] {
  return results.map(({ summary }) => {
    const perSite = sites.map((s) => summary.perSiteTest[s] ?? Number.NaN);
    const mean = perSite.reduce((a, b) => a + b, 0) / perSite.length;
    const std = Math.sqrt(perSite.reduce((a, b) => a + (b - mean) ** 2, 0) / perSite.length);
    return { strategy: summary.strategy, perSite, mean, std };
  });
}

/** Each strategy's runs across seeds (same federation, seed i of every strategy paired). */
export type SeedRuns = ReadonlyMap<string, readonly StrategyResult[]>;

/** The baseline paired differences are taken against. */
const BASELINE = 'fedavg';

interface SeedRow {
  strategy: string;
  seeds: number;
  mean: number;
  std: number;
  /** Against FedAvg, when it ran and this is not it. */
  vsBaseline?: ReturnType<typeof pairedDifference>;
}

/** Per strategy: mean test metric ± std across seeds, and the mean paired difference to FedAvg with a 95% interval. */
export function seedRows(runs: SeedRuns): SeedRow[] {
  const meanTests = (name: string): number[] => (runs.get(name) ?? []).map((r) => r.summary.meanTest);
  const baseline = meanTests(BASELINE);
  return [...runs.keys()].map((strategy) => {
    const tests = meanTests(strategy);
    const { mean, std } = meanStd(tests);
    return {
      strategy,
      seeds: tests.length,
      mean,
      std,
      ...(strategy !== BASELINE && baseline.length === tests.length ? { vsBaseline: pairedDifference(tests, baseline) } : {}),
    };
  });
}

const signed = (v: number): string => `${v >= 0 ? '+' : ''}${pct(v)}`;
const interval = (d: NonNullable<SeedRow['vsBaseline']>): string =>
  Number.isFinite(d.high) ? `${signed(d.mean)} [${signed(d.low)}, ${signed(d.high)}]` : `${signed(d.mean)} (one seed: no interval)`;

/** The across-seeds table as Markdown lines (empty for a single seed). */
function seedMarkdown(runs: SeedRuns | undefined, metric: string): string[] {
  if (runs === undefined || [...runs.values()].every((r) => r.length < 2)) return [];
  const seeds = [...runs.values()][0]!.map((r) => r.summary.config.seed);
  return [
    '',
    `## Across seeds (${seeds.join(', ')})`,
    '',
    `Mean test ${metric} (%) over sites, then mean ± standard deviation over seeds; against FedAvg, the mean paired difference (same seed) with its 95% t interval. An interval that contains 0 is no evidence of a difference.`,
    '',
    '| strategy | seeds | mean ± std | vs fedavg [95% CI] |',
    '|---|---|---|---|',
    ...seedRows(runs).map(
      (r) =>
        `| ${r.strategy} | ${r.seeds} | ${pct(r.mean)} ± ${pct(r.std)} | ${r.vsBaseline === undefined ? '' : interval(r.vsBaseline)} |`,
    ),
  ];
}

/** Index of the best row per column (sites, then mean); higher is better. */
function bests(table: Row[], columns: number): number[] {
  return Array.from({ length: columns + 1 }, (_, c) => {
    const value = (r: Row): number => (c < columns ? r.perSite[c]! : r.mean);
    return table.reduce((best, r, i) => (value(r) > value(table[best]!) ? i : best), 0);
  });
}

/** `report.md`: the per-site table (best marked in bold) and where the plots are. */
export function comparisonMarkdown(results: StrategyResult[], sites: string[], seedRuns?: SeedRuns): string {
  const table = rows(results, sites);
  const best = bests(table, sites.length);
  const metric = results[0]!.summary.metric;
  const mark = (v: string, isBest: boolean): string => (isBest ? `**${v}**` : v);
  const lines = [
    `# Comparison: ${results.map((r) => r.summary.strategy).join(', ')}`,
    '',
    `Test ${metric} (%) at each run's best round (by mean validation ${metric}); mean and standard deviation across sites. Best per column in bold.`,
    '',
    `| strategy | ${sites.join(' | ')} | mean ± std |`,
    `|---|${sites.map(() => '---|').join('')}---|`,
    ...table.map(
      (r, i) =>
        `| ${r.strategy} | ${r.perSite.map((v, c) => mark(pct(v), best[c] === i)).join(' | ')} | ${mark(`${pct(r.mean)} ± ${pct(r.std)}`, best[sites.length] === i)} |`,
    ),
    '',
    `Rounds: ${results[0]!.summary.config.rounds}; wall time: ${results.map((r) => `${r.summary.strategy} ${r.summary.wallSeconds.toFixed(0)} s`).join(', ')}.`,
    ...seedMarkdown(seedRuns, metric),
    '',
    'Convergence plots and AmpNorm pictures: `report.html`.',
    '',
  ];
  return lines.join('\n');
}

/** `report.html`: the same table, SVG convergence plots (mean and per site), each strategy's test predictions and AmpNorm pictures. */
export function comparisonHtml(
  results: StrategyResult[],
  sites: string[],
  pictures: AmpNormPicture[],
  seedRuns?: SeedRuns,
  predictions: ReadonlyMap<string, TestPredictions> = new Map(),
): string {
  const table = rows(results, sites);
  const best = bests(table, sites.length);
  const metric = results[0]!.summary.metric;
  const cell = (v: string, isBest: boolean): string => `<td>${isBest ? `<strong>${v}</strong>` : v}</td>`;
  // With several seeds each line is the mean over seeds and the band their range.
  const chart = (key: 'meanVal' | 'meanTest', title: string): string =>
    lineChart(
      title,
      'round',
      `${metric} %`,
      strategySeries(results, seedRuns, (r) => r[key]),
    );
  const seedTable =
    seedMarkdown(seedRuns, metric).length === 0
      ? ''
      : `<h2>Across seeds</h2><p>Mean test ${metric} (%) over sites, then mean ± standard deviation over seeds; against FedAvg, the mean paired difference (same seed) with its 95% t interval (an interval containing 0 is no evidence of a difference). The convergence plots draw the mean over seeds and shade their range.</p>
<table><tr><th>strategy</th><th>seeds</th><th>mean ± std</th><th>vs fedavg [95% CI]</th></tr>
${seedRows(seedRuns!)
  .map(
    (r) =>
      `<tr><td>${esc(r.strategy)}</td><td>${r.seeds}</td><td>${pct(r.mean)} ± ${pct(r.std)}</td><td>${r.vsBaseline === undefined ? '' : interval(r.vsBaseline)}</td></tr>`,
  )
  .join('\n')}
</table>`;
  const pics =
    pictures.length === 0
      ? ''
      : `<h2>AmpNorm: one test image per site, before and after</h2><div class="pics">${pictures
          .map(
            (p) =>
              `<figure><img src="${p.before}" alt="${esc(p.site)} before"><img src="${p.after}" alt="${esc(p.site)} after"><figcaption>${esc(p.site)}</figcaption></figure>`,
          )
          .join('')}</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>harmofl comparison</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}.pics{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;text-align:center}img{width:128px;height:128px;image-rendering:pixelated;margin:2px}.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.grid{display:grid;gap:8px}.swatch{display:inline-block;width:16px;height:5px;margin:0 4px 2px 10px}table.masks td{padding:4px}table.masks img{width:auto;height:auto}.masks .group{border-left:3px solid #888}.masks th,.confusion th{text-align:center}.confusion td{text-align:center;min-width:4em}.confusion-sites{margin-top:8px;font-size:90%}</style>
</head><body>
<h1>Comparison: ${esc(results.map((r) => r.summary.strategy).join(', '))}</h1>
<p>Test ${metric} (%) at each run's best round (by mean validation ${metric}); mean ± standard deviation across sites; best per column in bold.</p>
<table><tr><th>strategy</th>${sites.map((s) => `<th>${esc(s)}</th>`).join('')}<th>mean ± std</th></tr>
${table.map((r, i) => `<tr><td>${esc(r.strategy)}</td>${r.perSite.map((v, c) => cell(pct(v), best[c] === i)).join('')}${cell(`${pct(r.mean)} ± ${pct(r.std)}`, best[sites.length] === i)}</tr>`).join('\n')}
</table>
${seedTable}
<h2>Convergence</h2>
<div class="row">${chart('meanVal', `mean validation ${metric}`)}
${chart('meanTest', `mean test ${metric}`)}</div>
${siteCurvesHtml(results, sites, seedRuns)}
${predictionsHtml(predictions)}
${pics}
</body></html>
`;
}

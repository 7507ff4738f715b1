import type { RoundReport } from '../fl/round_loop.js';
import type { SeedRuns, StrategyResult } from './comparison.js';
import { esc } from './html.js';
import { meanStd } from './seed_statistics.js';
import { lineChart, type Series } from './svg_chart.js';

/**
 * One line per strategy of `value` (percent) per round: the mean over the strategy's seeds, their
 * range as a band when there are several. Rounds where `value` is missing (a site that failed) are left out.
 */
export function strategySeries(
  results: readonly StrategyResult[],
  seedRuns: SeedRuns | undefined,
  value: (round: RoundReport) => number | undefined,
): Series[] {
  return results.map((r) => {
    const runs = seedRuns?.get(r.summary.strategy) ?? [r];
    const at = (i: number): number[] => runs.map((run) => 100 * (value(run.rounds[i]!) ?? Number.NaN)).filter(Number.isFinite);
    const rounds = r.rounds.map((x, i) => ({ x: x.round + 1, values: at(i) })).filter((p) => p.values.length > 0);
    const points = rounds.map((p): [number, number] => [p.x, meanStd(p.values).mean]);
    return runs.length < 2
      ? { name: r.summary.strategy, points }
      : {
          name: r.summary.strategy,
          points,
          band: rounds.map((p): [number, number, number] => [p.x, Math.min(...p.values), Math.max(...p.values)]),
        };
  });
}

/** Small multiples: per site, the validation and the test metric per round of every strategy (colours as in the mean plots). */
export function siteCurvesHtml(results: readonly StrategyResult[], sites: readonly string[], seedRuns?: SeedRuns): string {
  const metric = results[0]!.summary.metric;
  const chart = (site: string, split: 'val' | 'test'): string =>
    lineChart(
      `${site}: ${split === 'val' ? 'validation' : 'test'}`,
      'round',
      `${metric} %`,
      strategySeries(results, seedRuns, (r) => r.sites[site]?.[split]),
      300,
      210,
      false,
    );
  return `<h3>Per site</h3>
<p class="legend">Each site's own validation and test ${metric} per round; colours as in the plots above.</p>
<div class="grid" style="grid-template-columns:repeat(${Math.min(sites.length, 4)},300px)">${sites.map((s) => `<div title="${esc(s)}">${chart(s, 'val')}${chart(s, 'test')}</div>`).join('')}</div>`;
}

import { esc } from './html.js';

/** A site's test labels and the classes predicted for them, in test-split order. */
export interface SiteClasses {
  site: string;
  truth: number[];
  predicted: number[];
}

/** Counts by true class (rows) and predicted class (columns). */
function confusionMatrix(truth: readonly number[], predicted: readonly number[], numClasses: number): number[][] {
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  truth.forEach((t, i) => m[t]![predicted[i]!]!++);
  return m;
}

const accuracy = (m: number[][]): number => {
  const total = m.flat().reduce((a, b) => a + b, 0);
  return total === 0 ? Number.NaN : m.reduce((a, row, i) => a + row[i]!, 0) / total;
};

/** One strategy's pooled matrix, each cell shaded by its share of the true class (blue: right, red: wrong). */
function pooledTable(m: number[][]): string {
  const cell = (count: number, rowTotal: number, right: boolean): string => {
    const share = rowTotal === 0 ? 0 : count / rowTotal;
    return `<td style="background:rgba(${right ? '31,119,180' : '214,39,40'},${(share * 0.8).toFixed(2)})">${count}</td>`;
  };
  const head = `<tr><th>true \\ predicted</th>${m.map((_, j) => `<th>class ${j}</th>`).join('')}</tr>`;
  const body = m.map(
    (row, i) =>
      `<tr><th>class ${i}</th>${row
        .map((v, j) =>
          cell(
            v,
            row.reduce((a, b) => a + b, 0),
            i === j,
          ),
        )
        .join('')}</tr>`,
  );
  return `<table class="confusion">${head}${body.join('')}</table>`;
}

/** Each site's counts on one line: a column per (true, predicted) pair, then the site's accuracy. */
function siteTable(sites: readonly SiteClasses[], numClasses: number): string {
  const pairs = Array.from({ length: numClasses * numClasses }, (_, k) => [Math.floor(k / numClasses), k % numClasses] as const);
  const head = `<tr><th>site</th>${pairs.map(([t, p]) => `<th title="true class ${t}, predicted ${p}">${t}→${p}</th>`).join('')}<th>acc. %</th></tr>`;
  const body = sites.map((s) => {
    const m = confusionMatrix(s.truth, s.predicted, numClasses);
    return `<tr><td>${esc(s.site)}</td>${pairs.map(([t, p]) => `<td>${m[t]![p]}</td>`).join('')}<td>${(accuracy(m) * 100).toFixed(1)}</td></tr>`;
  });
  return `<table class="confusion-sites">${head}${body.join('')}</table>`;
}

/** Per strategy, the confusion matrix of its best model on the test split of all sites pooled, with each site's counts. */
export function confusionHtml(classes: ReadonlyMap<string, readonly SiteClasses[]>, numClasses: number): string {
  const blocks = [...classes].map(([strategy, sites]) => {
    const pooled = confusionMatrix(
      sites.flatMap((s) => s.truth),
      sites.flatMap((s) => s.predicted),
      numClasses,
    );
    const total = pooled.flat().reduce((a, b) => a + b, 0);
    return `<figure class="confusion-block"><figcaption><strong>${esc(strategy)}</strong>: ${(accuracy(pooled) * 100).toFixed(1)}% of ${total} test images</figcaption>${pooledTable(pooled)}${siteTable(sites, numClasses)}</figure>`;
  });
  return `<h2>Confusion matrices (test split, all sites pooled)</h2>
<p class="legend">Rows: true class; columns: predicted class; shading: share of the row (blue on the diagonal, right; red off it, wrong). Below each, every site's counts as true→predicted. Each strategy's best model (its first seed's), with batch statistics as in testing.</p>
<div class="row">${blocks.join('')}</div>`;
}

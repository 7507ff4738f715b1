import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../temp_dir.js';
import { chromium } from 'playwright-core';
import { WorkerPool } from '../../src/engine/worker_pool.js';
import { compareStrategies } from '../../src/experiment/compare.js';
import { siteEntriesOf } from '../../src/experiment/evaluate.js';
import { prepareRun, type RunOptions } from '../../src/experiment/prepare.js';
import type { SimulationTasks } from '../../src/fl/simulation_tasks.js';
import { predictTestSplits, type TestPredictions } from '../../src/report/predictions.js';
import { tinyFederations } from '../fl/tiny_federation.js';

const CHROMIUM = '/usr/bin/chromium';
// Debian's build, without the network services a first start would contact.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let dirs: Record<'camelyon' | 'prostate' | 'nuclei', string>;
let pool: WorkerPool<SimulationTasks>;
const shots = await tempDir('harmofl-report-shots-');

before(async () => {
  // Enough test images for a confusion matrix with both classes, and two mask pictures per site.
  ({ dirs, pool } = await tinyFederations('harmofl-report-', { patchesPerSite: 40, imagesPerSite: 12 }));
});

after(async () => {
  await pool.close();
});

/** What the page shows once loaded: each image's decoded width, and each SVG's drawn line length. */
interface Rendered {
  images: Array<{ alt: string; naturalWidth: number }>;
  plots: Array<{ title: string; drawn: number }>;
  /** Shaded seed bands over all plots. */
  bands: number;
  maskRows: number;
  confusionTables: number;
}

// Runs in the page (a string: the project compiles without the DOM's types).
const MEASURE = `(async () => {
  const images = [...document.images];
  await Promise.all(images.map((i) => i.decode().catch(() => undefined)));
  return {
    images: images.map((i) => ({ alt: i.alt, naturalWidth: i.naturalWidth })),
    plots: [...document.querySelectorAll('svg')].map((svg) => ({
      title: svg.querySelector('text')?.textContent ?? '',
      drawn: [...svg.querySelectorAll('polyline, path')].reduce((a, l) => a + l.getTotalLength(), 0),
    })),
    bands: document.querySelectorAll('svg polygon').length,
    maskRows: [...document.querySelectorAll('table.masks tr')].filter((r) => r.querySelector('img') !== null).length,
    confusionTables: document.querySelectorAll('table.confusion').length,
  };
})()`;

/** Opens `html` in headless Chromium (a fresh profile), reads what rendered, and saves a full-page screenshot to `shot`. */
async function render(html: string, shot: string): Promise<Rendered> {
  const profile = await tempDir('harmofl-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await context.newPage();
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const rendered = (await page.evaluate(MEASURE)) as Rendered;
    await page.screenshot({ path: shot, fullPage: true });
    return rendered;
  } finally {
    await context.close();
  }
}

/** A two-round comparison of `strategies` on `data` (once per seed of `seeds`), with the report opened in Chromium. */
async function compareAndRender(
  data: string,
  options: Omit<RunOptions, 'data'>,
  strategies: string[],
  shot: string,
  seeds?: number[],
): Promise<{ rendered: Rendered; out: string }> {
  // Fails (never skips) before training when the browser is missing.
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the report test needs Debian's Chromium (as root: apt-get update && apt-get install -y chromium; .ci/run does this in CI)`,
  );
  const out = await tempDir('harmofl-report-run-');
  const prepared = await prepareRun({ data, rounds: 2, batch: 4, ...options });
  const { html } = await compareStrategies(prepared, strategies, out, pool, seeds === undefined ? {} : { seeds });
  return { rendered: await render(html, shot), out };
}

/** What `predictTestSplits` gives for the best model of the run in `run`, with the run's own per-site test metric. */
async function predictionsOf(run: string, data: string): Promise<{ predictions: TestPredictions; perSiteTest: Record<string, number> }> {
  const { fed } = await prepareRun({ data });
  const model = path.join(run, 'best.hflm');
  const predictions = await predictTestSplits(
    model,
    fed,
    4,
    await siteEntriesOf(
      model,
      fed.sites.map((s) => s.name),
    ),
  );
  const { perSiteTest } = JSON.parse(await readFile(path.join(run, 'summary.json'), 'utf8')) as {
    perSiteTest: Record<string, number>;
  };
  return { predictions, perSiteTest };
}

/** Every image decoded and every plot drew lines. */
function assertAllRendered(r: Rendered): void {
  assert.deepEqual(
    r.images.filter((i) => i.naturalWidth === 0).map((i) => i.alt),
    [],
    'images that did not decode',
  );
  assert.deepEqual(
    r.plots.filter((p) => !(p.drawn > 0)).map((p) => p.title),
    [],
    'plots with no line drawn',
  );
}

test('report.html of a classification comparison renders in Chromium: plots, per-site curves, confusion matrices, AmpNorm pictures', async (t) => {
  const shot = path.join(shots, 'classification.png');
  const { rendered, out } = await compareAndRender(
    dirs.camelyon,
    { lr: 0.05, model: 'densenet', growth: 4, blocks: [2, 2], features: 8 },
    ['harmofl', 'fedbn'],
    shot,
  );
  t.diagnostic(`screenshot: ${shot}`);
  assertAllRendered(rendered);
  assert.equal(rendered.plots.length, 2 + 2 * 2, 'mean validation and test, then validation and test per site');
  assert.equal(rendered.confusionTables, 2, 'one confusion matrix per strategy');
  assert.equal(rendered.images.length, 2 * 2, 'AmpNorm before and after per site');
  // The matrices come from the same predictions as the run's test metric (FedBN: each site's own normalization).
  const { predictions, perSiteTest } = await predictionsOf(path.join(out, 'fedbn'), dirs.camelyon);
  assert.equal(predictions.task, 'classification');
  for (const s of predictions.sites)
    assert.equal(s.predicted.filter((p, i) => p === s.truth[i]).length / s.truth.length, perSiteTest[s.site], s.site);
});

test('report.html of a two-seed segmentation comparison renders in Chromium: seed bands, two test images per site with mask outlines for each strategy', async (t) => {
  const shot = path.join(shots, 'segmentation.png');
  const { rendered, out } = await compareAndRender(
    dirs.nuclei,
    { lr: 0.01, model: 'unet', features: 2 },
    ['fedavg', 'fedbn'],
    shot,
    [0, 1],
  );
  t.diagnostic(`screenshot: ${shot}`);
  assertAllRendered(rendered);
  assert.equal(rendered.plots.length, 2 + 2 * 2);
  assert.equal(rendered.bands, 2 * rendered.plots.length, 'a seed band per strategy in every plot');
  assert.equal(rendered.maskRows, 2, 'a row of pictures per site');
  assert.equal(rendered.images.length, 2 * 2 * 2, 'one picture per strategy, site and image');
  // The pictures are the first seed's. Each site's test split holds these two images alone, so
  // their Dice values average to the site's test metric.
  const { predictions, perSiteTest } = await predictionsOf(path.join(out, 'fedbn', 'seed-0'), dirs.nuclei);
  assert.equal(predictions.task, 'segmentation');
  for (const s of predictions.sites) {
    assert.equal(s.examples.length, 2);
    assert.ok(Math.abs((s.examples[0]!.dice + s.examples[1]!.dice) / 2 - perSiteTest[s.site]!) < 1e-4, s.site);
  }
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { WorkerPool } from '../../src/engine/worker_pool.js';
import { loadFederation } from '../../src/data/federation.js';
import { simulate } from '../../src/fl/simulate.js';
import type { SimulationTasks } from '../../src/fl/simulation_tasks.js';
import { resolveOptions, STRATEGY_NAMES, strategyNamed } from '../../src/fl/strategies/index.js';
import type { TrainConfig, TrainSummary } from '../../src/fl/train_config.js';
import { readCheckpoint } from '../../src/fl/checkpoint.js';
import { ClientStore } from '../../src/fl/client_store.js';
import { entriesUnder } from '../../src/fl/client_context.js';
import { tinyFederations } from './tiny_federation.js';

let dirs: Record<'camelyon' | 'prostate' | 'nuclei', string>;
let pool: WorkerPool<SimulationTasks>;

before(async () => {
  ({ dirs, pool } = await tinyFederations('harmofl-fl-'));
});

after(async () => {
  await pool.close();
});

async function run(strategy: string, data: string, out: string, seed = 0): Promise<TrainSummary> {
  const fed = await loadFederation(data);
  const classification = fed.task === 'classification';
  const needs = strategyNamed(strategy).model;
  const config: TrainConfig = {
    data: { dir: data, format: classification ? 'camelyon' : 'manifest', imbalance: false, seed },
    strategy,
    options: resolveOptions(strategyNamed(strategy), { alpha: 0.05, mu: 0.01, serverLr: 0.01, moonMu: 1, moonTau: 0.5 }),
    rounds: 2,
    localEpochs: 1,
    batch: 4,
    optimizer: { kind: classification ? 'sgd' : 'adam', lr: classification ? 0.05 : 1e-3, momentum: 0.9, weightDecay: 1e-4 },
    model: {
      config: classification
        ? {
            kind: 'densenet',
            inputShape: [3, 16, 16],
            growthRate: 4,
            blockConfig: [2, 2],
            numInitFeatures: 8,
            bnSize: 2,
            numClasses: 2,
            affineBatchNorm: needs.affineBatchNorm === true,
            ...(needs.projectionDim !== undefined ? { projectionDim: 16 } : {}),
          }
        : { kind: 'unet', inputShape: [3, 16, 16], initFeatures: 2, outChannels: 2, affineBatchNorm: needs.affineBatchNorm === true },
      amp: { L: 0, momentum: 0, enabled: needs.ampNorm === true },
    },
    seed,
    weighting: 'uniform',
    augment: !classification,
    out,
  };
  const gen = simulate(config, fed, pool);
  for (;;) {
    const next = await gen.next();
    if (next.done === true) return next.value;
  }
}

for (const strategy of STRATEGY_NAMES) {
  test(`${strategy}: two rounds on a tiny federation give finite metrics and write every output`, async () => {
    const out = await tempDir(`harmofl-${strategy}-`);
    const summary = await run(strategy, dirs.camelyon, out);
    assert.equal(summary.strategy, strategy);
    assert.equal(summary.metric, 'accuracy');
    assert.ok(Number.isFinite(summary.meanTest) && summary.meanTest >= 0 && summary.meanTest <= 1);
    assert.deepEqual(Object.keys(summary.perSiteTest), ['hospital0', 'hospital1']);
    assert.deepEqual((await readdir(out)).sort(), [
      'best.hflm',
      'best.safetensors',
      'checkpoint.hflc',
      'clients',
      'latest.hflm',
      'latest.safetensors',
      'metrics.jsonl',
      'summary.json',
    ]);
    assert.deepEqual((await readdir(path.join(out, 'clients'))).sort(), ['hospital0', 'hospital1'], 'each site keeps its own context');
    const lines = (await readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { sites: Record<string, { trainLoss: number }> });
    assert.equal(lines.length, 2);
    for (const l of lines) for (const s of Object.values(l.sites)) assert.ok(Number.isFinite(s.trainLoss));
  });
}

test('segmentation (manifest masks) trains with Dice as the metric', async () => {
  const summary = await run('harmofl', dirs.nuclei, await tempDir('harmofl-seg-'));
  assert.equal(summary.metric, 'dice');
  assert.ok(Number.isFinite(summary.meanTest));
});

test('the same seed and worker count give identical metrics', async () => {
  const a = await run('harmofl', dirs.camelyon, await tempDir('harmofl-det-a-'), 7);
  const b = await run('harmofl', dirs.camelyon, await tempDir('harmofl-det-b-'), 7);
  assert.deepEqual(a.perSiteTest, b.perSiteTest);
  const la = await readFile(path.join(a.config.out, 'metrics.jsonl'), 'utf8');
  const lb = await readFile(path.join(b.config.out, 'metrics.jsonl'), 'utf8');
  // Everything but the timings must match.
  const strip = (t: string): unknown[] =>
    t
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l, (key, value: unknown) => (key === 'seconds' || key === 'elapsedSeconds' ? undefined : value)) as unknown);
  assert.deepEqual(strip(la), strip(lb));
});

test('harmofl train rejects a model that does not fit the task, and impossible values, with clear messages', async () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const exec = promisify(execFile);
  await assert.rejects(
    exec('node', [cli, 'train', '--data', dirs.camelyon, '--model', 'unet', '--rounds', '1', '--workers', '1']),
    (e: { stderr: string }) => /--model unet does not fit a classification federation/.test(e.stderr),
  );
  await assert.rejects(exec('node', [cli, 'train', '--data', dirs.camelyon, '--rounds', '0']), (e: { stderr: string }) =>
    /--rounds takes a positive integer, got "0"/.test(e.stderr),
  );
  await assert.rejects(exec('node', [cli, 'train', '--data', dirs.camelyon, '--strategy', 'fedfoo']), (e: { stderr: string }) =>
    /--strategy: choose one of/.test(e.stderr),
  );
});

/** Metrics lines without their timings. */
async function metricsOf(out: string): Promise<unknown[]> {
  const text = await readFile(path.join(out, 'metrics.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l, (key, value: unknown) => (key === 'seconds' || key === 'elapsedSeconds' ? undefined : value)) as unknown);
}

for (const strategy of ['harmofl', 'fedbn', 'moon']) {
  test(`${strategy}: a run killed mid-way and resumed ends with the same metrics as an uninterrupted one`, async () => {
    const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
    const args = (out: string): string[] => [
      cli,
      'train',
      '--data',
      dirs.camelyon,
      '--strategy',
      strategy,
      '--model',
      'densenet',
      '--growth',
      '4',
      '--blocks',
      '2,2',
      '--features',
      '8',
      '--rounds',
      '4',
      '--batch',
      '4',
      '--lr',
      '0.05',
      '--workers',
      '2',
      '--seed',
      '3',
      '--backend',
      'wasm',
      '--out',
      out,
    ];
    const exec = promisify(execFile);
    const whole = await tempDir('harmofl-whole-');
    await exec('node', args(whole));
    const cut = await tempDir('harmofl-cut-');
    const child = spawn('node', args(cut), { stdio: 'ignore' });
    // Kill hard once two rounds are logged: the clients may already have saved round 3's context.
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      const text = await readFile(path.join(cut, 'metrics.jsonl'), 'utf8').catch(() => '');
      if (
        text
          .trim()
          .split('\n')
          .filter((l) => l !== '').length >= 2
      )
        break;
      if (child.exitCode !== null) throw new Error('the run ended before it could be killed');
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const partial = (await metricsOf(cut)).length;
    assert.ok(partial >= 2 && partial < 4, `killed after ${partial} rounds`);
    await assert.rejects(exec('node', [...args(cut), '--resume', '--strategy', 'fedavg']), (e: { stderr: string }) =>
      new RegExp(`was made with strategy "${strategy}"`).test(e.stderr),
    );
    await exec('node', [...args(cut), '--resume']);
    assert.deepEqual(await metricsOf(cut), await metricsOf(whole));
    const summary = (out: string): Promise<{ perSiteTest: unknown; bestRound: number }> =>
      readFile(path.join(out, 'summary.json'), 'utf8').then((t) => JSON.parse(t) as { perSiteTest: unknown; bestRound: number });
    const [a, b] = [await summary(whole), await summary(cut)];
    assert.deepEqual([b.bestRound, b.perSiteTest], [a.bestRound, a.perSiteTest]);
  });
}

test('a client context saved for a round the server never checkpointed is not used to train that round again', async () => {
  const { emptyContext } = await import('../../src/fl/client_context.js');
  const dir = await tempDir('harmofl-store-');
  const store = await ClientStore.open('a', dir);
  const at = (round: number) => ({ ...emptyContext('a'), round, values: { mark: round } });
  await store.save(at(0));
  await store.save(at(1));
  await store.save(at(2));
  assert.deepEqual((await readdir(dir)).sort(), ['context-1.hflx', 'context-2.hflx'], 'two generations on disk');
  const reopened = await ClientStore.open('a', dir);
  assert.equal(reopened.forFit(2).values['mark'], 1, 'round 2 retrains from the context of round 1');
  assert.equal(reopened.forEvaluate(2).values['mark'], 2);
  assert.equal(reopened.forFit(0).round, -1, 'round 0 starts empty');
  await assert.rejects(ClientStore.open('b', dir), /holds the state of site a, not b/);
});

/** Per-site test metrics of `harmofl test` on a run's best model. */
async function testCommand(
  out: string,
): Promise<{ metric: string; perSiteTest: Record<string, number>; meanTest: number; stderr: string }> {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const { stdout, stderr } = await promisify(execFile)('node', [
    cli,
    'test',
    '--checkpoint',
    path.join(out, 'best.hflm'),
    '--data',
    dirs.camelyon,
    '--batch',
    '4',
    '--json',
    '--backend',
    'wasm',
  ]);
  return { ...(JSON.parse(stdout) as { metric: string; perSiteTest: Record<string, number>; meanTest: number }), stderr };
}

test("harmofl test on the best model reproduces the run's per-site test metrics", async () => {
  const out = await tempDir('harmofl-test-cmd-');
  const summary = await run('harmofl', dirs.camelyon, out);
  const result = await testCommand(out);
  assert.equal(result.metric, 'accuracy');
  assert.deepEqual(result.perSiteTest, summary.perSiteTest);
});

test('compare runs strategies on the same federation and writes report.md and a self-contained report.html', async () => {
  const { compareStrategies } = await import('../../src/experiment/compare.js');
  const { prepareRun } = await import('../../src/experiment/prepare.js');
  const out = await tempDir('harmofl-compare-');
  const prepared = await prepareRun({
    data: dirs.camelyon,
    rounds: 2,
    batch: 4,
    lr: 0.05,
    model: 'densenet',
    growth: 4,
    blocks: [2, 2],
    features: 8,
  });
  const { html, results } = await compareStrategies(prepared, ['fedavg', 'harmofl'], out, pool);
  assert.deepEqual(
    results.map((r) => r.summary.strategy),
    ['fedavg', 'harmofl'],
  );
  assert.deepEqual((await readdir(out)).sort(), ['fedavg', 'harmofl', 'report.html', 'report.md']);
  const md = await readFile(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /\| strategy \| hospital0 \| hospital1 \| mean ± std \|/);
  assert.equal((md.match(/\*\*/g) ?? []).length, 2 * 3, 'one best marked per column');
  const page = await readFile(html, 'utf8');
  assert.equal((page.match(/<svg /g) ?? []).length, 2 + 2 * 2, 'mean validation and test convergence plots, then both per site');
  assert.equal((page.match(/src="data:image\/png;base64,/g) ?? []).length, 2 * 2, 'before and after per site');
  assert.doesNotMatch(page, /(src|href)="(http|\/)/, 'no external resources');
});

test("FedBN keeps each site's BatchNorm parameters and statistics local, and checkpoints them", async () => {
  const out = await tempDir('harmofl-fedbn-');
  const summary = await run('fedbn', dirs.camelyon, out);
  const ckpt = await readCheckpoint(path.join(out, 'checkpoint.hflc'));
  assert.ok(
    Object.keys(ckpt.global).some((n) => n.endsWith('running_mean')) && Object.keys(ckpt.server).length === 0,
    'the server checkpoint holds the global model only',
  );
  const store = (site: string): Promise<ClientStore> => ClientStore.open(site, path.join(out, 'clients', site));
  const [ca, cb] = [(await store('hospital0')).latest(), (await store('hospital1')).latest()];
  const [a, b] = [entriesUnder(ca, 'local'), entriesUnder(cb, 'local')];
  const names = Object.keys(a);
  assert.ok(names.length > 0 && names.every((n) => /norm\d?\.(weight|bias|running_mean|running_var)$/.test(n)), names.join(', '));
  assert.ok(
    names.some((n) => a[n]!.data.some((v, i) => v !== b[n]!.data[i])),
    'the two sites hold different statistics',
  );
  assert.ok(!('classifier.weight' in a), 'other layers are shared');
  assert.ok(Object.keys(entriesUnder(ca, 'best')).length === names.length, "the best round's own entries are kept for best.hflm");
  const tested = await testCommand(out);
  assert.match(tested.stderr, /each site is evaluated with its own normalization state \(2 sites/);
  assert.deepEqual(tested.perSiteTest, summary.perSiteTest, "harmofl test uses each site's own state of the best round");
});

test('harmofl demo compares harmofl, fedavg and fedbn on both tasks and prints both tables', async () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const out = await tempDir('harmofl-demo-');
  const data = path.dirname(dirs.camelyon);
  const { stdout } = await promisify(execFile)('node', [
    cli,
    'demo',
    '--data',
    data,
    '--out',
    out,
    '--rounds',
    '1',
    '--workers',
    '2',
    '--backend',
    'wasm',
  ]);
  assert.match(stdout, /classification \(Camelyon17-style, accuracy %\)\nstrategy +hospital0 +hospital1 +mean/);
  assert.match(stdout, /segmentation \(nuclei-style, Dice %\)/);
  for (const s of ['harmofl', 'fedavg', 'fedbn']) assert.equal((stdout.match(new RegExp(`^${s} `, 'gm')) ?? []).length, 2, s);
  assert.deepEqual((await readdir(out)).sort(), ['camelyon17', 'nuclei']);
  assert.ok((await readdir(path.join(out, 'nuclei'))).includes('report.html'));
});

test("MOON keeps each site's previous local model and trains a projection head", async () => {
  const out = await tempDir('harmofl-moon-');
  await run('moon', dirs.camelyon, out);
  const ckpt = await readCheckpoint(path.join(out, 'checkpoint.hflc'));
  const previous = entriesUnder((await ClientStore.open('hospital0', path.join(out, 'clients', 'hospital0'))).latest(), 'previous');
  assert.ok('projection.2.weight' in previous && 'classifier.weight' in previous);
  assert.notDeepEqual(
    previous['projection.0.weight']!.data,
    ckpt.global['projection.0.weight']!.data,
    'a local model differs from the average',
  );
});

test('harmofl test refuses a model of the other task, naming the model and the federation', async () => {
  const out = await tempDir('harmofl-task-');
  await run('fedavg', dirs.camelyon, out);
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const model = path.join(out, 'best.hflm');
  await assert.rejects(
    promisify(execFile)('node', [cli, 'test', '--checkpoint', model, '--data', dirs.nuclei, '--backend', 'wasm']),
    (e: { stderr: string }) =>
      e.stderr.includes(`${model} is a classification model (densenet) but ${dirs.nuclei} is a segmentation federation`),
  );
});

test('compare --seeds runs every strategy once per seed and reports mean ± std and paired differences to FedAvg', async () => {
  const { compareStrategies } = await import('../../src/experiment/compare.js');
  const { prepareRun } = await import('../../src/experiment/prepare.js');
  const out = await tempDir('harmofl-seeds-');
  const prepared = await prepareRun({
    data: dirs.camelyon,
    rounds: 2,
    batch: 4,
    lr: 0.05,
    model: 'densenet',
    growth: 4,
    blocks: [2, 2],
    features: 8,
  });
  const { html, seedRuns } = await compareStrategies(prepared, ['fedavg', 'harmofl'], out, pool, { seeds: [0, 1, 2] });
  assert.deepEqual((await readdir(path.join(out, 'harmofl'))).sort(), ['seed-0', 'seed-1', 'seed-2']);
  const runs = seedRuns.get('harmofl')!;
  assert.deepEqual(
    runs.map((r) => r.summary.config.seed),
    [0, 1, 2],
  );
  assert.deepEqual(new Set(runs.map((r) => r.summary.config.data.seed)), new Set([0]), 'the same federation splits for every seed');
  const md = await readFile(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /## Across seeds \(0, 1, 2\)/);
  const row = md.split('\n').find((l) => l.startsWith('| harmofl | 3 |'));
  assert.ok(row !== undefined, md);
  const [, , , meanStd, ci] = row.split('|').map((c) => c.trim());
  const tests = runs.map((r) => r.summary.meanTest * 100);
  assert.equal(meanStd!.split(' ± ')[0], (tests.reduce((a, b) => a + b, 0) / 3).toFixed(2));
  assert.match(ci!, /^[+-]\d+\.\d\d \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]$/);
  assert.match(md, /\| fedavg \| 3 \| [\d.]+ ± [\d.]+ \| {2}\|/, 'no difference of FedAvg to itself');
  const page = await readFile(html, 'utf8');
  assert.equal((page.match(/<polygon /g) ?? []).length, 2 * (2 + 2 * 2), 'a seed band per strategy in every plot, mean and per site');
});

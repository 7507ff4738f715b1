import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../temp_dir.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));

// A consumer's program: only the public entry points, no dist/ paths.
const program = `
import { createModel, densenet121, Rng, strategyNamed } from 'harmofl';
import { initBackend, prepareRun, SIMULATION_TASKS, train, WorkerPool, writeSyntheticFederations } from 'harmofl/node';
const model = createModel(densenet121(32), new Rng(0));
const entries = model.params.state().size;
model.dispose();
await initBackend('wasm');
const dirs = await writeSyntheticFederations('fed', { sites: 2, patchesPerSite: 12, patchSize: 16, casesPerSite: 1, volumeSize: 16, slices: 6, imagesPerSite: 8, imageSize: 16, seed: 1 });
const prepared = await prepareRun({ data: dirs.camelyon, rounds: 2, batch: 4, lr: 0.05, model: 'densenet', growth: 4, blocks: [2, 2], features: 8 });
const pool = new WorkerPool(2, SIMULATION_TASKS, 'wasm');
await pool.ready();
let rounds = 0;
const summary = await train(prepared.configFor('harmofl', 'run'), prepared.fed, pool, { listener: (e) => { if (e.type === 'round') rounds++; } });
await pool.close();
console.log(JSON.stringify({ entries, rounds, meanTest: summary.meanTest, strategy: strategyNamed('harmofl').summary }));
`;

test('the packed tarball installs into a fresh project and runs a federation through the public API and through npx harmofl', async () => {
  const work = await tempDir('harmofl-pack-');
  // The suite has just built dist/; pack it as it is.
  const { stdout: packed } = await exec('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: root });
  const tarball = path.join(work, packed.trim().split('\n').at(-1)!);
  const app = path.join(work, 'app');
  await exec('mkdir', [app]);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  const install = await exec('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, maxBuffer: 1 << 24 });
  const files = await readdir(path.join(app, 'node_modules', 'harmofl'));
  assert.ok(
    !files.includes('src') && !files.includes('test') && files.includes('dist'),
    `only the built package ships: ${files.join(', ')}`,
  );
  const core = await readFile(path.join(app, 'node_modules', '@tensorflow', 'tfjs-core', 'dist', 'tf-core.node.js'), 'utf8');
  assert.ok(core.includes('harmofl patch'), `the install applied the tfjs-core patch (install output: ${install.stdout.slice(-400)})`);
  await writeFile(path.join(app, 'main.js'), program);
  const { stdout } = await exec('node', ['main.js'], { cwd: app });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { entries: number; rounds: number; meanTest: number; strategy: string };
  assert.equal(result.entries, 123, "densenet121: 120 convolutions, classifier weight and bias, AmpNorm's running amplitude");
  assert.equal(result.rounds, 2);
  assert.ok(result.meanTest >= 0 && result.meanTest <= 1);
  assert.match(result.strategy, /AmpNorm/);
  const cli = await exec(
    'npx',
    [
      'harmofl',
      'train',
      '--data',
      'fed/camelyon17',
      '--strategy',
      'fedavg',
      '--model',
      'densenet',
      '--growth',
      '4',
      '--blocks',
      '2,2',
      '--features',
      '8',
      '--rounds',
      '2',
      '--batch',
      '4',
      '--workers',
      '1',
      '--backend',
      'wasm',
      '--out',
      'cli-run',
    ],
    { cwd: app },
  );
  assert.match(cli.stdout, /best round \d: mean test accuracy \d+\.\d+%/);
  assert.ok((await readdir(path.join(app, 'cli-run'))).includes('summary.json'));
});

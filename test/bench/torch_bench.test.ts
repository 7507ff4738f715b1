import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../temp_dir.js';
import {
  findTorchPython,
  parseTorchBenchOutput,
  pythonCandidates,
  runTorchBench,
  TORCH_BENCH_SCRIPT,
} from '../../src/bench/torch_bench.js';
import { createModel } from '../../src/harmofl/create_model.js';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { densenet121, unet32 } from '../../src/nn/presets.js';
import type { DenseNetConfig, ModelConfig } from '../../src/nn/model.js';

const exec = promisify(execFile);

const line = { imagesPerSecond: 12.5, threads: 2, torch: '1.13.0a0', seconds: 2.56, params: 1958 };

test('parses the script line and ignores what comes before it', () => {
  assert.deepEqual(parseTorchBenchOutput(`some warning\n${JSON.stringify(line)}\n\n`), line);
});

test('rejects empty, non-JSON, incomplete or non-positive output', () => {
  assert.throws(() => parseTorchBenchOutput(' \n'), /printed nothing/);
  assert.throws(() => parseTorchBenchOutput('Traceback (most recent call last):'), /no JSON/);
  assert.throws(() => parseTorchBenchOutput('[1, 2]'), /lacks/);
  assert.throws(() => parseTorchBenchOutput(JSON.stringify({ ...line, torch: undefined })), /lacks/);
  assert.throws(() => parseTorchBenchOutput(JSON.stringify({ ...line, imagesPerSecond: 0 })), /lacks/);
  assert.throws(() => parseTorchBenchOutput(JSON.stringify({ ...line, threads: 1.5 })), /lacks/);
  assert.throws(() => parseTorchBenchOutput(JSON.stringify({ ...line, params: '1958' })), /lacks/);
});

test('HARMOFL_PYTHON comes first, then python3 on PATH, then /usr/bin/python3', () => {
  assert.deepEqual(pythonCandidates({ HARMOFL_PYTHON: '/opt/py/bin/python' }), ['/opt/py/bin/python', 'python3', '/usr/bin/python3']);
  assert.deepEqual(pythonCandidates({}), ['python3', '/usr/bin/python3']);
  assert.deepEqual(pythonCandidates({ HARMOFL_PYTHON: '/usr/bin/python3' }), ['/usr/bin/python3', 'python3']);
});

test('without a python that imports torch, the comparison is skipped with every candidate and the fix named', async () => {
  const dir = await tempDir('harmofl-torch-');
  // A python3 that exists but has no torch, as a pyenv shim.
  const shim = path.join(dir, 'python3');
  await writeFile(shim, `#!/bin/sh\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`);
  await chmod(shim, 0o755);
  const missing = path.join(dir, 'absent', 'python3');
  // As HARMOFL_PYTHON naming a missing file, then a python3 on PATH without torch.
  const found = await findTorchPython([missing, shim]);
  assert.ok(!('python' in found));
  assert.match(found.reason, /^PyTorch comparison skipped: no python3 with torch found/);
  assert.ok(found.reason.includes(`${missing}: not found`), found.reason);
  assert.ok(found.reason.includes(`${shim}: ModuleNotFoundError: No module named 'torch'`), found.reason);
  assert.match(found.reason, /apt-get install python3-torch/);
});

const tiny: DenseNetConfig = {
  kind: 'densenet',
  inputShape: [3, 16, 16],
  growthRate: 4,
  blockConfig: [1, 1],
  numInitFeatures: 8,
  bnSize: 2,
  numClasses: 2,
};

/** Trainable parameters of our model for `config`. */
async function ourParams(config: ModelConfig): Promise<number> {
  await initBackend('wasm');
  const model = createModel(config, new Rng(1));
  const n = model.params.parameterCount();
  model.dispose();
  return n;
}

const found = await findTorchPython();
const python = 'python' in found ? found.python : undefined;
const noTorch = 'reason' in found ? found.reason : undefined;

test('the script times a tiny densenet step and builds the same parameters as ours', async (t) => {
  if (python === undefined) return t.skip(noTorch);
  const base = { model: tiny, batch: 2, warmupSteps: 1, steps: 1, seed: 1 } as const;
  const r = await runTorchBench(python, { ...base, ampL: 0, threads: 1, mode: 'train' }, 120_000);
  assert.equal(r.threads, 1);
  assert.equal(r.params, await ourParams(tiny));
  assert.ok(r.imagesPerSecond > 0 && r.seconds > 0);
  // The FFT path with the EMA, and inference.
  assert.equal((await runTorchBench(python, { ...base, ampL: 0.1, threads: 1, mode: 'train' }, 120_000)).params, r.params);
  assert.ok((await runTorchBench(python, { ...base, ampL: 0, threads: 1, mode: 'predict' }, 120_000)).imagesPerSecond > 0);
});

test("the script's densenet121 and unet32 have the reference's parameter counts", async (t) => {
  if (python === undefined) return t.skip(noTorch);
  const count = async (config: ModelConfig): Promise<number> => {
    const { stdout } = await exec(python, [TORCH_BENCH_SCRIPT, '--config', JSON.stringify(config), '--count-only'], { timeout: 120_000 });
    return (JSON.parse(stdout) as { params: number }).params;
  };
  // REFERENCE.md: 6,872,258 and 7,757,186.
  assert.equal(await count(densenet121(96)), 6_872_258);
  assert.equal(await count(unet32(384)), 7_757_186);
});

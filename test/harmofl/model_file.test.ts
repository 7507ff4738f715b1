import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel } from '../../src/harmofl/create_model.js';
import { loadModel, saveModel } from '../../src/harmofl/model_file.js';

test('a saved model loads with the same outputs, AmpNorm L, momentum and frozen state', async () => {
  await initBackend('wasm');
  const dir = await tempDir('harmofl-model-');
  const model = createModel({ kind: 'unet', inputShape: [3, 16, 32], initFeatures: 2, outChannels: 2 }, new Rng(3), {
    L: 0.1,
    momentum: 0.1,
  });
  const x = tf.randomUniform([2, 16, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  model.inputNorm.observe(x);
  model.inputNorm.frozen = true;
  const before = tf.tidy(() => model.forward(x, false).dataSync().slice());
  const file = path.join(dir, 'model.hflm');
  await saveModel(file, model);
  assert.deepEqual(await readdir(dir), ['model.hflm'], 'no temp file left behind');
  const loaded = await loadModel(file, new Rng(99));
  assert.deepEqual(loaded.inputNorm.options, { L: 0.1, momentum: 0.1 });
  assert.equal(loaded.inputNorm.frozen, true);
  assert.deepEqual(loaded.config, model.config);
  const after = tf.tidy(() => loaded.forward(x, false).dataSync().slice());
  assert.deepEqual(after, before);
  // Truncated and foreign files fail naming the file.
  const bytes = await readFile(file);
  await writeFile(path.join(dir, 'short.hflm'), bytes.subarray(0, bytes.length - 8));
  await assert.rejects(loadModel(path.join(dir, 'short.hflm'), new Rng(0)), /short\.hflm: expected \d+ bytes/);
  await writeFile(path.join(dir, 'other.bin'), 'hello world');
  await assert.rejects(loadModel(path.join(dir, 'other.bin'), new Rng(0)), /other\.bin: not a harmofl model file/);
  await assert.rejects(loadModel(path.join(dir, 'missing.hflm'), new Rng(0)), /cannot read model file .*missing\.hflm: ENOENT/);
  assert.throws(
    () => createModel({ kind: 'unet', inputShape: [3, 16, 12], initFeatures: 2, outChannels: 2 }, new Rng(0)),
    /16x12: height and width must be multiples of 16/,
  );
  model.dispose();
  loaded.dispose();
  x.dispose();
});

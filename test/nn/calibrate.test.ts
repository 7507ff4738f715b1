import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { normalizationControl } from '../../src/nn/batch_norm.js';
import { calibrate, isCalibrated, setNormalization } from '../../src/nn/calibrate.js';
import type { ModelConfig } from '../../src/nn/model.js';
import { loadModel, saveModel } from '../../src/harmofl/model_file.js';
import { createModel } from '../../src/harmofl/create_model.js';

const CONFIGS: ModelConfig[] = [
  { kind: 'densenet', inputShape: [3, 16, 16], growthRate: 4, blockConfig: [2, 2], numInitFeatures: 8, bnSize: 2, numClasses: 3 },
  { kind: 'unet', inputShape: [3, 16, 16], initFeatures: 2, outChannels: 2 },
];

/** Images with a per-image offset, so batch statistics really differ between batches. */
function images(n: number, seed: number): tf.Tensor4D {
  return tf.tidy(
    () =>
      tf.add(
        tf.randomUniform([n, 16, 16, 3], 0, 1, 'float32', seed),
        tf.randomUniform([n, 1, 1, 3], -0.5, 0.5, 'float32', seed + 1),
      ) as tf.Tensor4D,
  );
}

function* split(x: tf.Tensor4D, sizes: number[]): Generator<tf.Tensor4D> {
  let at = 0;
  for (const s of sizes) {
    yield tf.slice(x, [at, 0, 0, 0], [s, -1, -1, -1]);
    at += s;
  }
}

const outputs = (y: tf.Tensor): Float32Array => {
  const data = y.dataSync() as Float32Array;
  y.dispose();
  return data;
};

for (const config of CONFIGS) {
  test(`${config.kind}: calibrated mode gives an image the same output alone and inside a batch of others; batch mode is unchanged`, async () => {
    await initBackend('wasm');
    const model = createModel(config, new Rng(5));
    const data = images(10, 1);
    model.inputNorm.observe(data);
    const probe = images(6, 7);
    const batchBefore = outputs(model.forward(probe, false));
    assert.throws(() => setNormalization(model, 'calibrated'), /calibrate the model/);
    assert.equal(await calibrate(model, split(data, [4, 4, 2])), 10);
    assert.ok(isCalibrated(model));
    assert.deepEqual(outputs(model.forward(probe, false)), batchBefore, 'calibrating leaves batch-statistics mode bit for bit');

    setNormalization(model, 'calibrated');
    const inBatch = outputs(model.forward(probe, false));
    const per = inBatch.length / 6;
    for (const i of [0, 3, 5]) {
      const alone = outputs(tf.tidy(() => model.forward(tf.slice(probe, [i, 0, 0, 0], [1, -1, -1, -1]), false)));
      const slice = inBatch.subarray(i * per, (i + 1) * per);
      // Exact equality: with fixed statistics no computation mixes images.
      assert.deepEqual(alone, slice, `image ${i}`);
    }
    // In batch mode the same image alone gets another output (which is what calibration fixes).
    setNormalization(model, 'batch');
    const aloneBatchStats = outputs(tf.tidy(() => model.forward(tf.slice(probe, [0, 0, 0, 0], [2, -1, -1, -1]), false)));
    assert.notDeepEqual(aloneBatchStats, inBatch.subarray(0, 2 * per));
    assert.deepEqual(outputs(model.forward(probe, false)), batchBefore);

    // A calibrated model file keeps the statistics.
    const file = path.join(await tempDir('harmofl-cal-'), 'm.hflm');
    await saveModel(file, model);
    const loaded = await loadModel(file, new Rng(0));
    assert.ok(isCalibrated(loaded));
    setNormalization(loaded, 'calibrated');
    assert.deepEqual(outputs(loaded.forward(probe, false)), inBatch);
    tf.dispose([data, probe]);
    model.dispose();
    loaded.dispose();
  });
}

test('calibration statistics are the exact population moments, whatever the batching', async () => {
  await initBackend('wasm');
  const model = createModel(CONFIGS[1]!, new Rng(2));
  const data = images(7, 3);
  const control = normalizationControl(model.params);
  const first = 'encoder1.enc1_norm1';
  const statsWith = async (sizes: number[]): Promise<{ mean: Float32Array; variance: Float32Array }> => {
    await calibrate(model, split(data, sizes));
    const s = control.statistics.get(first)!;
    return { mean: s.mean.slice(), variance: s.variance.slice() };
  };
  // The first BatchNorm's input does not depend on the batch, so any batching must give one pass's moments.
  const whole = await statsWith([7]);
  for (const sizes of [
    [3, 3, 1],
    [1, 1, 1, 1, 1, 1, 1],
  ]) {
    const s = await statsWith(sizes);
    for (let c = 0; c < whole.mean.length; c++) {
      assert.ok(Math.abs(s.mean[c]! - whole.mean[c]!) < 1e-5 * (1 + Math.abs(whole.mean[c]!)), `mean ${c} with ${sizes}`);
      assert.ok(Math.abs(s.variance[c]! - whole.variance[c]!) < 1e-5 * whole.variance[c]!, `variance ${c} with ${sizes}`);
    }
  }
  assert.deepEqual(control.layers.length, control.statistics.size);
  await assert.rejects(calibrate(model, []), /at least one image/);
  data.dispose();
  model.dispose();
  const affine = createModel({ ...CONFIGS[1]!, affineBatchNorm: true } as ModelConfig, new Rng(0));
  await assert.rejects(calibrate(affine, []), /no batch-statistics BatchNorm/);
  affine.dispose();
});

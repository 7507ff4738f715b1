import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel } from '../../src/harmofl/create_model.js';
import type { ModelConfig } from '../../src/nn/model.js';
import { WeightPerturbation } from '../../src/harmofl/weight_perturbation.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import { trainStep } from '../../src/harmofl/train_step.js';

const configs: ModelConfig[] = [
  { kind: 'densenet', inputShape: [3, 16, 16], growthRate: 4, blockConfig: [2, 2], numInitFeatures: 8, bnSize: 2, numClasses: 2 },
  { kind: 'unet', inputShape: [3, 16, 16], initFeatures: 2, outChannels: 2 },
];

for (const config of configs) {
  test(`${config.kind}: HarmoFL steps lower the loss on a fixed batch and leak no tensors`, async () => {
    await initBackend('wasm');
    const model = createModel(config, new Rng(4));
    const [c, h, w] = config.inputShape;
    const x = tf.randomUniform([4, h, w, c], 0, 1, 'float32', 9) as tf.Tensor4D;
    const y = config.kind === 'densenet' ? tf.tensor1d([0, 1, 1, 0], 'int32') : tf.cast(tf.greater(tf.mean(x, 3), 0.5), 'int32');
    const base =
      config.kind === 'densenet' ? new Sgd({ lr: 0.05, momentum: 0.9, weightDecay: 1e-4 }) : new Adam({ lr: 1e-2, weightDecay: 1e-4 });
    const wp = new WeightPerturbation(base, 0.05);
    const first = trainStep(model, wp, x, y);
    assert.ok(first.lossPerturbed >= first.loss - 1e-6, 'the perturbation ascends the loss');
    trainStep(model, wp, x, y);
    const tensors = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 6; i++) last = trainStep(model, wp, x, y);
    assert.equal(tf.memory().numTensors, tensors);
    assert.ok(last.loss < first.loss, `loss ${first.loss} -> ${last.loss}`);
    assert.ok(
      model.inputNorm.runningAmp.dataSync().some((v) => v !== 0),
      'AmpNorm took the first batch amplitude',
    );
    base.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });
}

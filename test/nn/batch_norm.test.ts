import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { BatchNorm2d, BN_EPS, batchNorm, bnRelu } from '../../src/nn/batch_norm.js';
import { ParamStore, Scope } from '../../src/nn/params.js';
import { createModel } from '../../src/harmofl/create_model.js';
import { densenet121, unet32 } from '../../src/nn/presets.js';

test("affine DenseNet-121 has torchvision's parameter count (7,978,856 with 1000 classes, so 6,955,906 with 2) and PyTorch BN names", async () => {
  await initBackend('wasm');
  const model = createModel({ ...densenet121(96), affineBatchNorm: true }, new Rng(0));
  assert.equal(model.params.parameterCount(), 7978856 - 1024 * 1000 - 1000 + 1024 * 2 + 2);
  for (const name of [
    'features.norm0.weight',
    'features.denseblock1.denselayer1.norm1.running_mean',
    'features.transition1.norm.bias',
    'features.norm5.running_var',
  ])
    assert.ok(model.params.entries.has(name), name);
  assert.ok([...model.params.normalizationNames()].every((n) => /norm\d?\.(weight|bias|running_mean|running_var)$/.test(n)));
  model.dispose();
  const unet = createModel({ ...unet32(64), affineBatchNorm: true }, new Rng(0));
  assert.ok(unet.params.entries.has('encoder1.enc1_norm1.weight') && unet.params.entries.has('decoder1.dec1_norm2.running_var'));
  unet.dispose();
});

test('affine BatchNorm: batch statistics and a running-statistics update in training, running statistics in eval', async () => {
  await initBackend('wasm');
  const store = new ParamStore(new Rng(0));
  const bn = new BatchNorm2d(new Scope(store, 'bn'), 1, true);
  const values = [1, 2, 3, 6];
  const x = tf.tensor4d(values, [1, 2, 2, 1]);
  const mean = 3;
  const biasedVar = values.reduce((a, v) => a + (v - mean) ** 2, 0) / 4;
  const y = tf.tidy(() => bn.apply(x, true).dataSync().slice());
  values.forEach((v, i) => assert.ok(Math.abs(y[i]! - (v - mean) / Math.sqrt(biasedVar + BN_EPS)) < 1e-4));
  const runMean = store.entries.get('bn.running_mean')!.variable.dataSync()[0]!;
  const runVar = store.entries.get('bn.running_var')!.variable.dataSync()[0]!;
  assert.ok(Math.abs(runMean - 0.1 * mean) < 1e-6);
  assert.ok(Math.abs(runVar - (0.9 + 0.1 * biasedVar * (4 / 3))) < 1e-5, 'unbiased variance in the running estimate');
  const evalOut = tf.tidy(() => bn.apply(x, false).dataSync().slice());
  values.forEach((v, i) => assert.ok(Math.abs(evalOut[i]! - (v - runMean) / Math.sqrt(runVar + BN_EPS)) < 1e-4));
  store.dispose();
  x.dispose();
});

test('BatchNorm alone and fused with ReLU (wasm kernels and the tf-ops path) match op-by-op autodiff on the cpu backend', async () => {
  // 7 channels: SIMD groups of 4 plus a scalar tail; 12 channels over 3200 rows: several row blocks.
  for (const shape of [
    [3, 5, 4, 7],
    [2, 40, 40, 12],
  ] as Array<[number, number, number, number]>)
    await bnMatchesAutodiff(shape);
});

/** BatchNorm written with plain ops, differentiated by tfjs itself. */
function autodiffBatchNorm(x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, BN_EPS)));
}

async function bnMatchesAutodiff(shape: [number, number, number, number]): Promise<void> {
  const rng = new Rng(5);
  const size = shape.reduce((a, b) => a * b, 1);
  const xs = Float32Array.from({ length: size }, () => rng.normal() * 2 + 0.5);
  const dys = Float32Array.from({ length: size }, () => rng.normal());
  const run = (f: (x: tf.Tensor4D) => tf.Tensor4D): [Float32Array, Float32Array] =>
    tf.tidy(() => {
      const x = tf.tensor4d(xs, shape);
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), tf.tensor4d(dys, shape))))(x);
      return [f(x).dataSync() as Float32Array, grad.dataSync() as Float32Array];
    });
  for (const [name, f, reference] of [
    ['batchNorm', batchNorm, autodiffBatchNorm],
    ['bnRelu', bnRelu, (x: tf.Tensor4D) => tf.relu(autodiffBatchNorm(x))],
  ] as const) {
    await initBackend('cpu');
    const [y0, g0] = run(reference);
    const results = [['cpu', ...run(f)]];
    await initBackend('wasm');
    results.push(['wasm', ...run(f)]);
    for (const [backend, y1, g1] of results as Array<[string, Float32Array, Float32Array]>) {
      if (name === 'bnRelu') assert.ok(y1.some((v) => v === 0) && y1.every((v) => v >= 0), 'relu applied');
      y0.forEach((v, i) => assert.ok(Math.abs(v - y1[i]!) < 1e-5, `${name} on ${backend}, value ${i}: ${v} vs ${y1[i]}`));
      g0.forEach((v, i) => assert.ok(Math.abs(v - g1[i]!) < 1e-4, `${name} on ${backend}, gradient ${i} of ${shape}: ${v} vs ${g1[i]}`));
    }
  }
}

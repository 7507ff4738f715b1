import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { DENSE_BLOCK_BACKWARD } from '../../src/engine/kernels/dense_block_backward.js';
import { DENSE_BLOCK_FORWARD } from '../../src/engine/kernels/dense_block_forward.js';
import type { DenseNetConfig } from '../../src/nn/model.js';
import { createModel } from '../../src/harmofl/create_model.js';

/** The loss's value, every trainable variable's gradient by name, and the logits in evaluation (batch statistics). */
function gradients(config: DenseNetConfig, x: tf.Tensor4D, weights: tf.Tensor2D): Map<string, Float32Array> {
  const model = createModel(config, new Rng(3));
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.forward(x, true), weights)) as tf.Scalar);
  const logits = tf.tidy(() => model.forward(x, false));
  const out = new Map<string, Float32Array>([
    ['loss', value.dataSync() as Float32Array],
    ['evaluation logits', logits.dataSync() as Float32Array],
  ]);
  logits.dispose();
  // tfjs suffixes variable names with a global counter (`name#12`).
  for (const [name, g] of Object.entries(grads)) out.set(name.replace(/#\d+$/, ''), g.dataSync() as Float32Array);
  tf.dispose([value, grads]);
  model.dispose();
  return out;
}

const KERNELS = [DENSE_BLOCK_FORWARD, DENSE_BLOCK_BACKWARD];

/** Runs `f` with the dense block kernels counted (calls per kernel) or unregistered. */
function withDenseKernels<T>(mode: 'counted' | 'absent', f: () => T): { result: T; calls: number[] } {
  const configs = KERNELS.map((name) => tf.getKernel(name, 'wasm'));
  const calls = KERNELS.map(() => 0);
  configs.forEach((config, k) => {
    assert.ok(config !== undefined, `${KERNELS[k]} is registered on wasm`);
    tf.unregisterKernel(config.kernelName, 'wasm');
    if (mode === 'counted')
      tf.registerKernel({
        ...config,
        kernelFunc: (args) => {
          calls[k]!++;
          return config.kernelFunc(args);
        },
      });
  });
  try {
    return { result: f(), calls };
  } finally {
    for (const config of configs) {
      if (mode === 'counted') tf.unregisterKernel(config!.kernelName, 'wasm');
      tf.registerKernel(config!);
    }
  }
}

const CASES = [
  // Every block in place, the input gradient's tiles on the 8-channel grid.
  { growthRate: 8, numInitFeatures: 16, blockConfig: [2, 2, 2], fusedBlocks: 3 },
  // Growth 12 (densenet-small's) leaves the accumulating convolution's output channels off the
  // 8-channel grid, so its tiles also cover part of the layer's own (already read) chunk.
  { growthRate: 12, numInitFeatures: 24, blockConfig: [2, 2, 2], fusedBlocks: 3 },
  // The last block's 18 input channels are not whole 4-channel groups: op by op, beside fused blocks.
  { growthRate: 8, numInitFeatures: 16, blockConfig: [3, 2, 2], fusedBlocks: 2 },
];

for (const { fusedBlocks, ...layout } of CASES) {
  test(`fused dense blocks equal op-by-op autodiff to the bit (${JSON.stringify(layout)})`, async () => {
    await initBackend('wasm', { threads: 2 });
    const config: DenseNetConfig = { kind: 'densenet', inputShape: [3, 20, 20], ...layout, bnSize: 2, numClasses: 3 };
    const x = tf.randomNormal([4, 20, 20, 3], 0.3, 1, 'float32', 7) as tf.Tensor4D;
    const weights = tf.randomNormal([4, 3], 0, 1, 'float32', 8) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const fused = withDenseKernels('counted', () => gradients(config, x, weights));
    assert.deepEqual(fused.calls, [2 * fusedBlocks, fusedBlocks], 'fused forward passes (training, evaluation) and backward passes');
    assert.equal(tf.memory().numTensors, before, 'the fused op leaves no tensor behind');
    const reference = withDenseKernels('absent', () => gradients(config, x, weights)).result;
    assert.equal(fused.result.size, reference.size);
    assert.ok(reference.size > 3 * 2 * 2, 'gradients of every layer');
    for (const [name, expected] of reference) {
      const got = fused.result.get(name);
      assert.ok(got !== undefined, `gradient of ${name}`);
      assert.deepEqual(got, expected, name);
    }
    tf.dispose([x, weights]);
  });
}

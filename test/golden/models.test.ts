import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel } from '../../src/harmofl/create_model.js';
import { densenet121, unet32 } from '../../src/nn/presets.js';
import type { ModelConfig } from '../../src/nn/model.js';
import { readGolden, expectClose, type GoldenArray } from './golden_files.js';

interface ModelGolden {
  config: Record<string, unknown>;
  parameter_count: number;
  input: GoldenArray;
  output: GoldenArray;
  state_dict: Record<string, GoldenArray>;
}

/** Our model config from a golden file's reference-style `config` (kind told by the file). */
function configFrom(kind: 'densenet' | 'unet', g: ModelGolden): ModelConfig {
  const c = g.config;
  const inputShape = c['input_shape'] as [number, number, number];
  const classes = g.output.shape[1]!;
  return kind === 'densenet'
    ? {
        kind,
        inputShape,
        growthRate: c['growth_rate'] as number,
        blockConfig: c['block_config'] as number[],
        numInitFeatures: c['num_init_features'] as number,
        bnSize: c['bn_size'] as number,
        numClasses: classes,
      }
    : { kind, inputShape, initFeatures: c['init_features'] as number, outChannels: classes };
}

for (const [kind, file] of [
  ['densenet', 'densenet_small'],
  ['unet', 'unet_small'],
] as const) {
  test(`${file}: parameter count, state_dict load and forward output match the reference`, async () => {
    await initBackend('wasm');
    const g = readGolden<ModelGolden>(file);
    const model = createModel(configFrom(kind, g), new Rng(1));
    assert.equal(model.params.parameterCount(), g.parameter_count);
    model.params.loadTorchStateDict(new Map(Object.entries(g.state_dict)));
    const [n, c, h, w] = g.input.shape as [number, number, number, number];
    const out = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(g.input.data, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
      const y = model.forward(x, false);
      // Back to the reference's NCHW for segmentation maps.
      return y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y;
    });
    assert.deepEqual(out.shape, g.output.shape);
    expectClose(out.dataSync(), g.output.data, { rtol: 1e-4, atol: 1e-5 }, `${file} output`);
    // Export gives back the PyTorch layouts it was loaded from.
    const exported = model.params.torchStateDict();
    for (const [name, arr] of Object.entries(g.state_dict)) {
      assert.deepEqual(exported.get(name)!.shape, arr.shape, name);
      expectClose(exported.get(name)!.dataSync(), arr.data, { atol: 0 }, name);
    }
    tf.dispose([out, ...exported.values()]);
    model.dispose();
  });
}

test('full-size presets have the reference parameter counts', async () => {
  await initBackend('wasm');
  const sizes = readGolden<Record<string, number | string>>('model_sizes');
  for (const [key, config] of [
    ['densenet121_96', densenet121(96)],
    ['unet32_384', unet32(384)],
  ] as const) {
    const model = createModel(config, new Rng(0));
    assert.equal(model.params.parameterCount(), sizes[key], key);
    model.dispose();
  }
});

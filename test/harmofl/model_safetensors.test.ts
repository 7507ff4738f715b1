import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { calibrate, isCalibrated } from '../../src/nn/calibrate.js';
import type { ModelConfig } from '../../src/nn/model.js';
import { loadAnyModel, loadModelSafetensors, saveModelSafetensors } from '../../src/harmofl/model_safetensors.js';
import { createModel } from '../../src/harmofl/create_model.js';
import { expectClose, readGolden, type GoldenArray } from '../golden/golden_files.js';

const tmp = (): Promise<string> => tempDir('harmofl-mst-');

/** The JSON header of a safetensors file, parsed by hand (u64 length, then JSON). */
async function header(
  file: string,
): Promise<Record<string, { dtype: string; shape: number[] }> & { __metadata__: Record<string, string> }> {
  const bytes = await readFile(file);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as never;
}

const UNET: ModelConfig = { kind: 'unet', inputShape: [3, 16, 16], initFeatures: 2, outChannels: 2 };
const DENSENET: ModelConfig = {
  kind: 'densenet',
  inputShape: [3, 16, 16],
  growthRate: 4,
  blockConfig: [2, 2],
  numInitFeatures: 8,
  bnSize: 2,
  numClasses: 3,
};

test('model -> safetensors -> model: PyTorch names and layouts, harmofl metadata, equal outputs (calibrated statistics kept)', async () => {
  await initBackend('wasm');
  const dir = await tmp();
  for (const config of [UNET, DENSENET]) {
    const model = createModel(config, new Rng(4), { L: 0.1, momentum: 0.1 });
    const x = tf.randomUniform([3, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    model.inputNorm.observe(x);
    model.inputNorm.frozen = true;
    await calibrate(model, [tf.clone(x)]);
    const before = tf.tidy(() => model.forward(x, false).dataSync().slice());
    const file = path.join(dir, `${config.kind}.safetensors`);
    await saveModelSafetensors(file, model);
    const h = await header(file);
    assert.equal(h.__metadata__['format'], 'pt');
    assert.deepEqual(JSON.parse(h.__metadata__['harmofl.config']!), config);
    assert.deepEqual(JSON.parse(h.__metadata__['harmofl.amp_norm']!), { L: 0.1, momentum: 0.1, frozen: true });
    assert.deepEqual(h['amp_norm.running_amp']!.shape, [3, 16, 16]);
    if (config.kind === 'unet') {
      assert.equal(h['encoder1.enc1_conv1.weight']!.dtype, 'F32');
      assert.deepEqual(h['encoder1.enc1_conv1.weight']!.shape, [2, 3, 3, 3], 'conv [out, in, kh, kw]');
      assert.deepEqual(h['upconv4.weight']!.shape, [32, 16, 2, 2], 'transposed conv [in, out, kh, kw]');
      assert.deepEqual(h['encoder1.enc1_norm1.running_var']!.shape, [2]);
    } else {
      assert.deepEqual(h['features.conv0.weight']!.shape, [8, 3, 7, 7]);
      assert.deepEqual(h['classifier.weight']!.shape, [3, 16], 'linear [out, in]');
      assert.deepEqual(h['features.denseblock1.denselayer2.norm1.running_mean']!.shape, [12]);
    }
    const loaded = await loadAnyModel(file, new Rng(9));
    assert.deepEqual(loaded.config, config);
    assert.deepEqual(loaded.inputNorm.options, { L: 0.1, momentum: 0.1 });
    assert.equal(loaded.inputNorm.frozen, true);
    assert.ok(isCalibrated(loaded));
    assert.deepEqual(
      tf.tidy(() => loaded.forward(x, false).dataSync().slice()),
      before,
    );
    model.dispose();
    loaded.dispose();
    x.dispose();
  }
});

interface ModelGolden {
  config: { input_shape: [number, number, number]; init_features: number };
  input: GoldenArray;
  output: GoldenArray;
  state_dict: Record<string, GoldenArray>;
}

/** A safetensors file written by hand from a state_dict: header JSON built here, F32 little-endian data. */
async function handMade(file: string, dict: Record<string, GoldenArray>, extra: Record<string, unknown> = {}): Promise<void> {
  const header: Record<string, unknown> = { ...extra };
  let offset = 0;
  for (const [name, a] of Object.entries(dict)) {
    header[name] = { dtype: 'F32', shape: a.shape, data_offsets: [offset, offset + 4 * a.data.length] };
    offset += 4 * a.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const bytes = Buffer.alloc(8 + json.length + offset);
  bytes.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(bytes, 8);
  let at = 8 + json.length;
  for (const a of Object.values(dict))
    for (const v of a.data) {
      bytes.writeFloatLE(v, at);
      at += 4;
    }
  await writeFile(file, bytes);
}

test("a hand-made safetensors of the reference's state_dict imports and reproduces the reference output", async () => {
  await initBackend('wasm');
  const g = readGolden<ModelGolden>('unet_small');
  const config: ModelConfig = {
    kind: 'unet',
    inputShape: g.config.input_shape,
    initFeatures: g.config.init_features,
    outChannels: g.output.shape[1]!,
  };
  const dir = await tmp();
  const file = path.join(dir, 'reference.safetensors');
  await handMade(file, g.state_dict, { __metadata__: { format: 'pt' } });
  await assert.rejects(loadModelSafetensors(file, new Rng(0)), /reference\.safetensors has no harmofl metadata: give the architecture/);
  const model = await loadModelSafetensors(file, new Rng(0), { config });
  const [n, c, h, w] = g.input.shape as [number, number, number, number];
  const out = tf.tidy(() =>
    tf.transpose(model.forward(tf.transpose(tf.tensor4d(g.input.data, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D, false), [0, 3, 1, 2]),
  );
  expectClose(out.dataSync(), g.output.data, { rtol: 1e-4, atol: 1e-5 }, 'imported output');
  assert.equal(model.inputNorm.frozen, true);
  tf.dispose(out);
  model.dispose();

  // Without the running amplitude: zeros and a warning, not frozen; PyTorch's step counters are read past.
  const rest = Object.fromEntries(Object.entries(g.state_dict).filter(([name]) => name !== 'amp_norm.running_amp'));
  const noAmp = path.join(dir, 'no_amp.safetensors');
  const counter = { shape: [], data: [0] };
  await handMade(noAmp, { ...rest, 'encoder1.enc1_norm1.num_batches_tracked': counter });
  const warnings: string[] = [];
  const m2 = await loadModelSafetensors(noAmp, new Rng(0), { config, warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /no_amp\.safetensors has no amp_norm\.running_amp: AmpNorm starts from zeros/);
  assert.ok(m2.inputNorm.runningAmp.dataSync().every((v) => v === 0));
  assert.equal(m2.inputNorm.frozen, false);
  m2.dispose();
});

test('a file that does not fit the model lists every missing, extra and mis-shaped entry', async () => {
  await initBackend('wasm');
  const dir = await tmp();
  const model = createModel(UNET, new Rng(1));
  const dict = Object.fromEntries(
    [...model.params.torchStateDict()].map(([name, t]) => {
      const a: GoldenArray = { shape: t.shape, data: [...t.dataSync()] };
      t.dispose();
      return [name, a];
    }),
  );
  delete dict['conv.bias'];
  delete dict['encoder2.enc2_conv1.weight'];
  dict['encoder1.enc1_conv1.weight'] = { shape: [2, 3, 3, 1], data: new Array<number>(18).fill(0) };
  dict['head.weight'] = { shape: [1], data: [1] };
  const bad = path.join(dir, 'bad.safetensors');
  await handMade(bad, dict);
  await assert.rejects(loadModelSafetensors(bad, new Rng(0), { config: UNET }), (e: Error) => {
    assert.match(e.message, /^.*bad\.safetensors does not fit the unet \(features 2, 3x16x16 input, 2 classes\) model:/);
    assert.match(e.message, /missing \(2\):\n {4}encoder2\.enc2_conv1\.weight \[4,2,3,3\]\n {4}conv\.bias \[2\]/);
    assert.match(e.message, /extra \(1\):\n {4}head\.weight \[1\]/);
    assert.match(e.message, /mis-shaped \(1\):\n {4}encoder1\.enc1_conv1\.weight: expected \[2,3,3,3\], found \[2,3,3,1\]/);
    return true;
  });
  model.dispose();
});

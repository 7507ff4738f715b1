import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkUpdateMatches, PROTOCOL_VERSION, validateInstruction, validateReply } from '../../src/fl/messages.js';
import { runSpecOf } from '../../src/fl/run_spec.js';

const arrays = { w: { shape: [2, 2], data: new Float32Array(4) } };
const reply = {
  kind: 'train-reply',
  version: PROTOCOL_VERSION,
  round: 3,
  site: 'a',
  arrays,
  samples: 12,
  metrics: { trainLoss: 0.5, steps: 3 },
};

test('a well-formed instruction and reply pass their guards', () => {
  assert.equal(
    validateInstruction({ kind: 'train', version: PROTOCOL_VERSION, round: 0, arrays, config: { run: '{}', seed: 1, fast: true } }, 'x')
      .kind,
    'train',
  );
  assert.equal(validateReply(reply, 'x').kind, 'train-reply');
  assert.equal(
    validateReply(
      { kind: 'evaluate-reply', version: PROTOCOL_VERSION, round: 0, site: 'a', metrics: { val: Number.NaN }, samples: { val: 0 } },
      'x',
    ).kind,
    'evaluate-reply',
  );
});

test('malformed messages fail with what is wrong and where they came from', () => {
  const bad: Array<[unknown, RegExp]> = [
    [null, /site b: a message must be an object/],
    [{ ...reply, kind: 'fit' }, /kind must be one of train-reply, evaluate-reply, got "fit"/],
    [{ ...reply, version: 9 }, /protocol version 9; this harmofl speaks 1/],
    [{ ...reply, round: -1 }, /round must be a non-negative integer/],
    [{ ...reply, site: '' }, /site must be a non-empty string/],
    [{ ...reply, samples: 1.5 }, /samples must be a non-negative integer/],
    [{ ...reply, metrics: { steps: 'three' } }, /metrics.steps must be number/],
    [{ ...reply, arrays: { w: { shape: [3], data: new Float32Array(4) } } }, /entry w has shape \[3\] \(3 values\) but 4 values/],
    [{ ...reply, arrays: { w: { shape: [4], data: [0, 0, 0, 0] } } }, /entry w must be \{ shape: number\[\], data: Float32Array \}/],
    [{ ...reply, arrays: { w: { shape: [-4], data: new Float32Array(4) } } }, /entry w has a shape that is not a list of sizes/],
  ];
  for (const [message, error] of bad) assert.throws(() => validateReply(message, 'site b'), error);
});

test('an update must match the global model entry for entry, shape for shape, and hold only finite values', () => {
  const global = { w: { shape: [2, 2], data: new Float32Array(4) }, b: { shape: [2], data: new Float32Array(2) } };
  assert.doesNotThrow(() =>
    checkUpdateMatches(global, { w: { shape: [2, 2], data: new Float32Array(4) }, b: { shape: [2], data: new Float32Array(2) } }, 'a'),
  );
  assert.throws(() => checkUpdateMatches(global, { w: global.w }, 'a'), /a: update lacks 1 entries of the global model, e.g. b/);
  assert.throws(() => checkUpdateMatches(global, { ...global, c: global.b }, 'a'), /has 1 entries the global model lacks, e.g. c/);
  assert.throws(
    () => checkUpdateMatches(global, { ...global, w: { shape: [4], data: new Float32Array(4) } }, 'a'),
    /entry w has shape \[4\], the global model \[2, 2\]/,
  );
  assert.throws(
    () => checkUpdateMatches(global, { ...global, b: { shape: [2], data: Float32Array.from([0, Number.POSITIVE_INFINITY]) } }, 'a'),
    /entry b holds Infinity at index 1/,
  );
  assert.throws(
    () => checkUpdateMatches(global, { ...global, b: { shape: [2], data: Float32Array.from([Number.NaN, 0]) } }, 'a'),
    /entry b holds NaN at index 0/,
  );
});

test('the run spec in an instruction config is checked before any training starts', () => {
  assert.throws(() => runSpecOf({}, 'train to a'), /train to a: config.run \(the run spec\) is missing/);
  assert.throws(() => runSpecOf({ run: '{nope' }, 'w'), /config.run is not JSON/);
  const spec = {
    strategy: 'fedavg',
    options: {},
    model: { config: { kind: 'unet' }, amp: { L: 0, momentum: 0 } },
    optimizer: { kind: 'sgd' },
    epochs: 1,
    batch: 4,
    augment: false,
  };
  assert.equal(runSpecOf({ run: JSON.stringify(spec) }, 'w').strategy, 'fedavg');
  assert.throws(
    () => runSpecOf({ run: JSON.stringify({ ...spec, model: { config: { kind: 'resnet' } } }) }, 'w'),
    /unknown model kind "resnet"/,
  );
  assert.throws(() => runSpecOf({ run: JSON.stringify({ ...spec, batch: 0 }) }, 'w'), /batch must be a positive integer/);
});

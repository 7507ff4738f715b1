import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { normalizeAmplitude, spectrum } from '../../src/harmofl/amplitude.js';
import { AmpNorm } from '../../src/harmofl/amp_norm.js';
import { ParamStore, Scope } from '../../src/nn/params.js';
import { Rng } from '../../src/engine/rng.js';
import { readGolden, expectClose, type GoldenArray } from './golden_files.js';

interface NormalizeGolden {
  src: GoldenArray;
  amp_target: GoldenArray;
  cases: Array<{ L: number; output: GoldenArray }>;
}
interface ProcessGolden {
  L: number;
  momentum?: number;
  momentum_effective?: number;
  steps: Array<{ input: GoldenArray; output: GoldenArray; running_amp: GoldenArray }>;
}

test('amp_normalize: normalize(src, amp_target, L) for every L in the file', () => {
  const g = readGolden<NormalizeGolden>('amp_normalize');
  const [c, h, w] = g.src.shape as [number, number, number];
  assert.ok(g.cases.length > 0);
  for (const { L, output } of g.cases) {
    const out = normalizeAmplitude(spectrum({ data: g.src.data, count: c, h, w }), c, g.amp_target.data, L);
    expectClose(out, output.data, { atol: 1e-5 }, `L=${L}`);
  }
});

function nhwc(a: GoldenArray): tf.Tensor4D {
  const [n, c, h, w] = a.shape as [number, number, number, number];
  return tf.transpose(tf.tensor4d(a.data, [n, c, h, w]), [0, 2, 3, 1]);
}

for (const [file, momentumKey] of [
  ['amp_process_reference', 'momentum_effective'],
  ['amp_process_momentum', 'momentum'],
] as const) {
  test(`${file}: running amplitude and outputs over successive training batches`, async () => {
    await initBackend('wasm');
    const g = readGolden<ProcessGolden>(file);
    const momentum = g[momentumKey];
    assert.equal(typeof momentum, 'number');
    const [, c, h, w] = g.steps[0]!.input.shape as [number, number, number, number];
    const store = new ParamStore(new Rng(0));
    const amp = new AmpNorm(new Scope(store, 'amp_norm'), [c, h, w], { L: g.L, momentum: momentum! });
    g.steps.forEach((step, i) => {
      const out = tf.tidy(() => {
        const x = nhwc(step.input);
        amp.observe(x);
        return tf.transpose(amp.apply(x), [0, 3, 1, 2]);
      });
      expectClose(amp.runningAmp.dataSync(), step.running_amp.data, { rtol: 1e-4, atol: 1e-4 }, `step ${i} running_amp`);
      expectClose(out.dataSync(), step.output.data, { rtol: 1e-4, atol: 1e-5 }, `step ${i} output`);
      out.dispose();
    });
    store.dispose();
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Fft } from '../../src/harmofl/fft.js';
import { AmpNorm } from '../../src/harmofl/amp_norm.js';
import { ParamStore, Scope } from '../../src/nn/params.js';
import { Rng } from '../../src/engine/rng.js';

test('mixed-radix FFT equals the direct DFT for lengths with factors 2, 3, 4, 5, 7 and primes', () => {
  const rng = new Rng(3);
  for (const n of [1, 2, 3, 5, 6, 7, 12, 16, 30, 49, 96, 97]) {
    const re = Float64Array.from({ length: n }, () => rng.normal());
    const im = Float64Array.from({ length: n }, () => rng.normal());
    const oRe = re.slice();
    const oIm = im.slice();
    new Fft(n).forward(oRe, oIm, 0, 1);
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      for (let j = 0; j < n; j++) {
        const a = (-2 * Math.PI * j * k) / n;
        sr += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
        si += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
      }
      assert.ok(Math.abs(sr - oRe[k]!) < 1e-9 * n && Math.abs(si - oIm[k]!) < 1e-9 * n, `n=${n} k=${k}`);
    }
  }
});

test('AmpNorm L=0 fast path equals the FFT path, on non-square images of both signs', async () => {
  await initBackend('wasm');
  const store = new ParamStore(new Rng(0));
  const fast = new AmpNorm(new Scope(store, 'a'), [3, 12, 10], { L: 0, momentum: 0 });
  const x = tf.tidy(() => tf.sub(tf.randomUniform([4, 12, 10, 3], 0, 1, 'float32', 5), 0.6)) as tf.Tensor4D;
  fast.observe(tf.abs(x) as tf.Tensor4D);
  const a = fast.apply(x).dataSync();
  const b = fast.applyFft(x).dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `element ${i}: ${a[i]} vs ${b[i]}`);
  store.dispose();
});

test('AmpNorm with L >= 0.5 on square images gives every image the running amplitude (paper formula); frozen stops updates', async () => {
  await initBackend('wasm');
  const store = new ParamStore(new Rng(0));
  const amp = new AmpNorm(new Scope(store, 'a'), [1, 8, 8], { L: 0.5, momentum: 0.1 });
  const first = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  amp.observe(first);
  const reference = amp.runningAmp.dataSync().slice();
  const second = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const out = amp.apply(second);
  // The amplitude of each output equals the running amplitude everywhere.
  const store2 = new ParamStore(new Rng(0));
  for (let i = 0; i < 3; i++) {
    const probe = new AmpNorm(new Scope(store2, `p${i}`), [1, 8, 8], { L: 0.5, momentum: 0 });
    probe.observe(tf.slice(out, [i, 0, 0, 0], [1, 8, 8, 1]) as tf.Tensor4D);
    const got = probe.runningAmp.dataSync();
    for (let k = 0; k < got.length; k++)
      assert.ok(Math.abs(got[k]! - reference[k]!) < 1e-3 * Math.max(1, reference[k]!), `image ${i} freq ${k}`);
  }
  amp.observe(second);
  const moved = amp.runningAmp.dataSync().slice();
  assert.ok(
    moved.some((v, k) => Math.abs(v - reference[k]!) > 1e-6),
    'EMA moves the running amplitude',
  );
  amp.frozen = true;
  amp.observe(first);
  assert.deepEqual(amp.runningAmp.dataSync(), moved);
  store.dispose();
  store2.dispose();
});

test('AmpNorm observeAndApply (one forward FFT) equals observe then apply, to the bit, over an EMA of batches', async () => {
  await initBackend('wasm');
  const store = new ParamStore(new Rng(0));
  const options = { L: 0.1, momentum: 0.1 };
  const [shared, apart] = ['shared', 'apart'].map((name) => new AmpNorm(new Scope(store, name), [3, 12, 10], options)) as [
    AmpNorm,
    AmpNorm,
  ];
  for (let seed = 1; seed <= 3; seed++) {
    const x = tf.randomUniform([4, 12, 10, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
    const one = shared.observeAndApply(x);
    apart.observe(x);
    const two = apart.apply(x);
    assert.deepEqual(one.dataSync(), two.dataSync(), `batch ${seed}: outputs`);
    assert.deepEqual(shared.runningAmp.dataSync(), apart.runningAmp.dataSync(), `batch ${seed}: running amplitude`);
    tf.dispose([x, one, two]);
  }
  store.dispose();
});

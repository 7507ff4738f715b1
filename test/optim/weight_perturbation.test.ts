import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { crossEntropy } from '../../src/losses/classification.js';
import { WeightPerturbation } from '../../src/harmofl/weight_perturbation.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import type { Optimizer } from '../../src/optim/optimizer.js';

const X = (): tf.Tensor2D => tf.tensor2d([0.5, -1, 2, 0.1, 0.3, 0.7, -0.2, 1.5, -0.8], [3, 3]);
const Y = (): tf.Tensor1D => tf.tensor1d([0, 2, 1], 'int32');

function setup(): Map<string, tf.Variable> {
  return new Map<string, tf.Variable>([
    ['W', tf.variable(tf.tensor2d([0.1, -0.2, 0.3, 0.05, 0.4, -0.1, -0.3, 0.2, 0.0], [3, 3]))],
    ['b', tf.variable(tf.tensor1d([0.01, -0.02, 0.03]))],
  ]);
}

function train(make: () => Optimizer, alpha: number | undefined, steps: number): Float32Array {
  const params = setup();
  const x = X();
  const y = Y();
  const opt = make();
  const lossFn = (): tf.Scalar => crossEntropy(tf.add(tf.matMul(x, params.get('W')!), params.get('b')!), y);
  for (let i = 0; i < steps; i++) {
    if (alpha === undefined) {
      const { grads } = tf.variableGrads(lossFn, [...params.values()]);
      opt.step(params, new Map([...params].map(([k, v]) => [k, grads[v.name]!])));
      tf.dispose(Object.values(grads));
    } else new WeightPerturbation(opt, alpha).step(lossFn, params);
  }
  const out = Float32Array.from([...params.get('W')!.dataSync(), ...params.get('b')!.dataSync()]);
  opt.dispose();
  tf.dispose([...params.values(), x, y]);
  return out;
}

for (const [name, make] of [
  ['sgd', () => new Sgd({ lr: 0.1, momentum: 0.9, weightDecay: 1e-4 })],
  ['adam', () => new Adam({ lr: 0.01, weightDecay: 1e-4 })],
] as const) {
  test(`alpha 0 is exactly the base ${name} optimizer; alpha > 0 is not`, async () => {
    await initBackend('wasm');
    assert.deepEqual(train(make, 0, 3), train(make, undefined, 3));
    assert.notDeepEqual(train(make, 0.05, 3), train(make, undefined, 3));
  });

  test(`${name} state exports and imports: a resumed optimizer continues identically`, async () => {
    await initBackend('wasm');
    const params = setup();
    const x = X();
    const y = Y();
    const lossFn = (): tf.Scalar => crossEntropy(tf.add(tf.matMul(x, params.get('W')!), params.get('b')!), y);
    const a = make();
    const wp = new WeightPerturbation(a, 0.05);
    wp.step(lossFn, params);
    const state = a.getState();
    assert.ok(state.step === 1 && Object.keys(state.slots).length > 0);
    const b = make();
    b.setState(structuredClone(state));
    const before = new Map([...params].map(([k, v]) => [k, tf.clone(v)]));
    wp.step(lossFn, params);
    const afterA = params.get('W')!.dataSync().slice();
    for (const [k, v] of before) params.get(k)!.assign(v);
    new WeightPerturbation(b, 0.05).step(lossFn, params);
    assert.deepEqual(params.get('W')!.dataSync(), afterA);
    assert.throws(
      () => (name === 'sgd' ? new Adam({ lr: 1, weightDecay: 0 }) : new Sgd({ lr: 1, momentum: 0, weightDecay: 0 })).setState(state),
      /optimizer state is for/,
    );
    tf.dispose([...before.values(), ...params.values(), x, y]);
  });
}

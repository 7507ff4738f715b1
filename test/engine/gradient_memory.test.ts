import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';

// These pin down patches/@tensorflow+tfjs-core (applied by `npm install`): consumed gradients
// are freed during the backward walk, and nothing the caller owns is freed.

test('backward pass frees consumed gradients: live buffers never exceed the forward pass', async () => {
  await initBackend('wasm');
  const depth = 30;
  let backwardPeak = 0;
  // Identity-valued layer whose gradient records how many buffers are alive at that point.
  const probe = tf.customGrad(((a: tf.Tensor) => ({
    value: tf.clone(a),
    gradFunc: (dy: tf.Tensor) => {
      backwardPeak = Math.max(backwardPeak, tf.memory().numDataBuffers);
      return tf.clone(dy);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  const x = tf.randomNormal([1 << 12]);
  let forwardBuffers = 0;
  const f = (a: tf.Tensor): tf.Tensor => {
    let y = a;
    for (let i = 0; i < depth; i++) y = probe(tf.sin(y));
    forwardBuffers = tf.memory().numDataBuffers;
    return tf.sum(y);
  };
  tf.dispose(tf.grad(f)(x));
  // Unpatched tfjs keeps every consumed gradient until the end: about `depth` more buffers.
  assert.ok(backwardPeak <= forwardBuffers + 4, `backward peak ${backwardPeak} buffers, forward ${forwardBuffers}`);
  x.dispose();
});

test('gradients stay correct when a tensor feeds several ops, and a caller-supplied dy survives', async () => {
  await initBackend('wasm');
  const x = tf.tensor1d([0.5, -1.5, 2]);
  const dy = tf.tensor1d([1, 2, 3]);
  // y = x*x + sin(x) + x  =>  dy/dx = 2x + cos(x) + 1
  const g = tf.grad((a: tf.Tensor) => tf.add(tf.add(tf.mul(a, a), tf.sin(a)), a))(x, dy);
  const xs = [0.5, -1.5, 2];
  const expected = xs.map((v, i) => (2 * v + Math.cos(v) + 1) * [1, 2, 3][i]!);
  const got = g.dataSync();
  expected.forEach((e, i) => assert.ok(Math.abs(got[i]! - e) < 1e-5, `element ${i}: ${got[i]} vs ${e}`));
  assert.equal(dy.isDisposed, false);
  assert.deepEqual(Array.from(dy.dataSync()), [1, 2, 3]);
  tf.dispose([x, dy, g]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { modelContrastiveLoss } from '../../src/losses/contrastive.js';

test('MOON contrastive loss equals -log(e^(sg/t) / (e^(sg/t) + e^(sp/t))) and is small when z matches the global representation', async () => {
  await initBackend('wasm');
  tf.tidy(() => {
    const z = tf.tensor2d([
      [1, 0],
      [0, 2],
    ]);
    const zg = tf.tensor2d([
      [1, 1],
      [0, 1],
    ]);
    const zp = tf.tensor2d([
      [-1, 0],
      [1, 0],
    ]);
    const tau = 0.5;
    const sg = [Math.SQRT1_2, 1];
    const sp = [-1, 0];
    const expected =
      (-Math.log(Math.exp(sg[0]! / tau) / (Math.exp(sg[0]! / tau) + Math.exp(sp[0]! / tau))) -
        Math.log(Math.exp(sg[1]! / tau) / (Math.exp(sg[1]! / tau) + Math.exp(sp[1]! / tau)))) /
      2;
    assert.ok(Math.abs(modelContrastiveLoss(z, zg, zp, tau).dataSync()[0]! - expected) < 1e-5);
    assert.ok(modelContrastiveLoss(z, z, zp, tau).dataSync()[0]! < modelContrastiveLoss(z, zp, z, tau).dataSync()[0]!);
  });
});

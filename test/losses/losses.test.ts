import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { diceCoefficient, dicePerClass, foregroundScores, softDiceLoss } from '../../src/losses/dice.js';
import { jointLoss } from '../../src/losses/joint_loss.js';
import { accuracy, crossEntropy } from '../../src/losses/classification.js';

test('Dice metrics and losses stay finite on empty masks, all-background predictions and batches of one', async () => {
  await initBackend('wasm');
  tf.tidy(() => {
    const background = tf.stack([tf.ones([1, 4, 4]), tf.zeros([1, 4, 4])], 3) as tf.Tensor4D; // predicts class 0 everywhere
    const empty = tf.zeros([1, 4, 4]) as tf.Tensor3D;
    const full = tf.ones([1, 4, 4]) as tf.Tensor3D;
    for (const target of [empty, full]) {
      for (const v of [
        softDiceLoss(background, target).dataSync()[0]!,
        jointLoss(background, target).dataSync()[0]!,
        diceCoefficient(background, target),
      ])
        assert.ok(Number.isFinite(v));
      const fg = foregroundScores(background, target);
      assert.ok(Number.isFinite(fg.dice) && Number.isFinite(fg.iou));
    }
    // Empty mask predicted empty: both classes perfect.
    assert.ok(Math.abs(diceCoefficient(background, empty) - 1) < 1e-6);
    // Full foreground predicted as background: each class is predicted where it is absent, so both score 0.
    const d = dicePerClass(background, full);
    assert.ok(Math.abs(d[0]!) < 1e-6 && Math.abs(d[1]!) < 1e-6);
  });
});

test('cross-entropy and accuracy on a known case', async () => {
  await initBackend('wasm');
  tf.tidy(() => {
    const logits = tf.tensor2d([
      [2, 0],
      [0, 3],
      [1, 1],
    ]);
    const labels = tf.tensor1d([0, 0, 1], 'int32');
    const expected = (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(3)) + Math.log(2)) / 3;
    assert.ok(Math.abs(crossEntropy(logits, labels).dataSync()[0]! - expected) < 1e-5);
    // argmax of a tie is the first class: rows 0 right, 1 wrong, 2 wrong.
    assert.ok(Math.abs(accuracy(logits, labels) - 1 / 3) < 1e-6);
  });
});

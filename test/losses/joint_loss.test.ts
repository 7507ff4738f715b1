import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { crossEntropy } from '../../src/losses/classification.js';
import { softDiceLoss } from '../../src/losses/dice.js';
import { jointLoss } from '../../src/losses/joint_loss.js';
import { expectClose } from '../golden/golden_files.js';

/** The joint loss as the composition of its two tfjs-op terms, differentiated by tfjs. */
const composed = (logits: tf.Tensor4D, target: tf.Tensor3D): tf.Scalar =>
  tf.div(tf.add(crossEntropy(logits, target), softDiceLoss(logits, target)), 2);

/** Asserts jointLoss's value and gradient equal the composed loss's under tfjs autodiff. */
function expectMatchesComposed(logits: tf.Tensor4D, target: tf.Tensor3D, gradientAtol: number, what: string): void {
  const ours = tf.valueAndGrad((z: tf.Tensor) => jointLoss(z as tf.Tensor4D, target))(logits);
  const theirs = tf.valueAndGrad((z: tf.Tensor) => composed(z as tf.Tensor4D, target))(logits);
  expectClose(ours.value.dataSync(), theirs.value.dataSync(), { rtol: 1e-5 }, `loss, ${what}`);
  expectClose(ours.grad.dataSync(), theirs.grad.dataSync(), { rtol: 1e-4, atol: gradientAtol }, `gradient, ${what}`);
}

test('joint loss: value and gradient match tfjs autodiff of cross-entropy + soft Dice, for 2 and 3 classes', async () => {
  await initBackend('wasm');
  for (const [classes, seed] of [
    [2, 1],
    [3, 2],
  ] as const) {
    tf.tidy(() => {
      const logits = tf.randomNormal([2, 5, 6, classes], 0, 3, 'float32', seed) as tf.Tensor4D;
      // Class 2 never appears for 3 classes: its Dice term is the smoothed empty case.
      const target = tf.cast(tf.randomUniform([2, 5, 6], 0, 2, 'float32', seed + 10), 'int32') as tf.Tensor3D;
      expectMatchesComposed(logits, target, 1e-7, `${classes} classes`);
    });
  }
});

test('joint loss: images of thousands of pixels, their logs summed in chunks, match tfjs, with equal logits at every pixel too', async () => {
  await initBackend('wasm');
  for (const [classes, scale] of [
    [2, 3],
    [3, 3],
    [3, 0],
  ] as const) {
    tf.tidy(() => {
      // 2 x 40 x 40 pixels: 3 chunks of 1,000 for 2 classes, 6 of 630 for 3; scale 0 makes every
      // pixel's exp-sum the class count, the largest product a chunk can reach.
      const logits = tf.mul(tf.randomNormal([2, 40, 40, classes], 0, 1, 'float32', 7), scale) as tf.Tensor4D;
      const target = tf.cast(tf.randomUniform([2, 40, 40], 0, classes, 'float32', 8), 'int32') as tf.Tensor3D;
      expectMatchesComposed(logits, target, 1e-9, `${classes} classes, logits x${scale}`);
    });
  }
});

test('joint loss: the upstream gradient scales the result, and a forward without a tape leaves no tensor behind', async () => {
  await initBackend('wasm');
  tf.tidy(() => {
    const logits = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const target = tf.cast(tf.greater(tf.randomUniform([1, 4, 4], 0, 1, 'float32', 4), 0.5), 'int32') as tf.Tensor3D;
    const once = tf.grad((z: tf.Tensor) => jointLoss(z as tf.Tensor4D, target))(logits);
    const thrice = tf.grad((z: tf.Tensor) => tf.mul(jointLoss(z as tf.Tensor4D, target), 3))(logits);
    expectClose(thrice.dataSync(), tf.mul(once, 3).dataSync(), { rtol: 1e-6 }, 'scaled gradient');
    const before = tf.memory().numTensors;
    jointLoss(logits, target).dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

test('joint loss: a label outside the classes names itself and its pixel', async () => {
  await initBackend('wasm');
  tf.tidy(() => {
    const logits = tf.zeros([1, 2, 2, 2]) as tf.Tensor4D;
    const target = tf.tensor3d([0, 1, 2, 0], [1, 2, 2], 'int32');
    assert.throws(() => jointLoss(logits, target), /label 2 at pixel 2 is not a class index in \[0, 2\)/);
    assert.throws(() => jointLoss(logits, tf.zeros([1, 2, 3]) as tf.Tensor3D), /8 logits do not match 6 labels of 2 classes/);
  });
});

import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { diceCoefficient, softDiceLoss } from '../../src/losses/dice.js';
import { jointLoss } from '../../src/losses/joint_loss.js';
import { readGolden, expectClose, type GoldenArray } from './golden_files.js';

interface LossGolden {
  logits: GoldenArray;
  target: GoldenArray;
  dice_loss: number;
  dice_coef: number;
  joint: number;
}

test('losses: soft Dice loss, hard Dice coefficient and joint loss match the reference', async () => {
  await initBackend('wasm');
  const g = readGolden<LossGolden>('losses');
  const [n, c, h, w] = g.logits.shape as [number, number, number, number];
  tf.tidy(() => {
    const logits = tf.transpose(tf.tensor4d(g.logits.data, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
    const target = tf.reshape(tf.tensor(g.target.data), [n, h, w]) as tf.Tensor3D;
    expectClose([softDiceLoss(logits, target).dataSync()[0]!], [g.dice_loss], { rtol: 1e-5 }, 'dice_loss');
    expectClose([diceCoefficient(logits, target)], [g.dice_coef], { rtol: 1e-5 }, 'dice_coef');
    expectClose([jointLoss(logits, target).dataSync()[0]!], [g.joint], { rtol: 1e-5 }, 'joint');
  });
});

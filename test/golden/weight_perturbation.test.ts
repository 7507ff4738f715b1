import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { crossEntropy } from '../../src/losses/classification.js';
import { WeightPerturbation } from '../../src/harmofl/weight_perturbation.js';
import { Sgd } from '../../src/optim/sgd.js';
import { Adam } from '../../src/optim/adam.js';
import type { Optimizer } from '../../src/optim/optimizer.js';
import { readGolden, expectClose, type GoldenArray } from './golden_files.js';

interface RunGolden {
  optimizer: string;
  alpha: number;
  lr: number;
  momentum?: number;
  weight_decay: number;
  steps: Array<{ loss: number; loss_perturbed: number; W: GoldenArray; b: GoldenArray }>;
}
interface WpGolden {
  X: GoldenArray;
  y: number[];
  W0: GoldenArray;
  b0: GoldenArray;
  runs: RunGolden[];
}

function optimizerFor(run: RunGolden): Optimizer {
  if (run.optimizer === 'sgd') return new Sgd({ lr: run.lr, momentum: run.momentum ?? 0, weightDecay: run.weight_decay });
  if (run.optimizer === 'adam') return new Adam({ lr: run.lr, weightDecay: run.weight_decay });
  throw new Error(`golden run uses unknown optimizer ${run.optimizer}`);
}

test('weight perturbation over SGD and Adam: losses and weights after every step match the reference', async () => {
  await initBackend('wasm');
  const g = readGolden<WpGolden>('weight_perturbation');
  const X = tf.tensor2d(g.X.data, g.X.shape as [number, number]);
  const y = tf.tensor1d(g.y, 'int32');
  for (const run of g.runs) {
    const params = new Map([
      ['W', tf.variable(tf.tensor(g.W0.data, g.W0.shape))],
      ['b', tf.variable(tf.tensor(g.b0.data, g.b0.shape))],
    ]);
    const wp = new WeightPerturbation(optimizerFor(run), run.alpha);
    const lossFn = (): tf.Scalar => crossEntropy(tf.add(tf.matMul(X, params.get('W')!), params.get('b')!), y);
    run.steps.forEach((step, i) => {
      const r = wp.step(lossFn, params);
      const label = `${run.optimizer} step ${i}`;
      expectClose([r.loss, r.lossPerturbed], [step.loss, step.loss_perturbed], { rtol: 1e-5 }, `${label} losses`);
      expectClose(params.get('W')!.dataSync(), step.W.data, { rtol: 1e-5, atol: 1e-7 }, `${label} W`);
      expectClose(params.get('b')!.dataSync(), step.b.data, { rtol: 1e-5, atol: 1e-7 }, `${label} b`);
    });
    wp.base.dispose();
    tf.dispose([...params.values()]);
  }
  tf.dispose([X, y]);
});

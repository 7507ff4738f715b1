import * as tf from '@tensorflow/tfjs-core';
import { averagingServer } from '../averaging.js';
import type { StrategyDefinition } from '../strategy.js';

/** FedProx (Li et al. 2020): FedAvg plus a proximal term mu/2 * ||w - w_global||^2 in every local step. */
export const fedprox: StrategyDefinition = {
  name: 'fedprox',
  summary: 'FedAvg with a proximal term pulling local weights toward the global ones',
  options: [{ key: 'mu', flag: '--mu <m>', help: 'FedProx proximal coefficient', default: 0.01, min: 'zero' }],
  model: {},
  server: (setup) => averagingServer('fedprox', setup),
  client: (o) => ({
    plan: ({ model }) => {
      const mu = o['mu']!;
      const anchors = new Map([...model.params.trainable()].map(([k, v]) => [k, tf.clone(v)]));
      return {
        alpha: 0,
        freezeInputNorm: true,
        ...(mu > 0
          ? {
              regularizer: () =>
                tf.mul(
                  mu / 2,
                  tf.addN([...model.params.trainable()].map(([k, v]) => tf.sum(tf.squaredDifference(v, anchors.get(k)!)))),
                ) as tf.Scalar,
            }
          : {}),
        dispose: () => tf.dispose([...anchors.values()]),
      };
    },
  }),
};

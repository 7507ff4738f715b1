import * as tf from '@tensorflow/tfjs-core';
import { taskLoss } from '../../harmofl/train_step.js';
import { modelContrastiveLoss } from '../../losses/contrastive.js';
import type { Model } from '../../nn/model.js';
import { averagingServer } from '../averaging.js';
import { entriesUnder, replaceEntries } from '../client_context.js';
import type { StrategyDefinition } from '../strategy.js';

/** The projected representation and logits of a model with a projection head. */
function embedOf(model: Model, x: tf.Tensor4D, training: boolean): { z: tf.Tensor2D; logits: tf.Tensor2D } {
  if (model.embed === undefined) throw new Error('MOON needs a model with a projection head (classification DenseNet)');
  return model.embed(x, training);
}

/**
 * MOON (Li et al. 2021): a model-contrastive term pulls each client's representation toward the
 * global model's and away from its own previous local model's, which the site keeps.
 */
export const moon: StrategyDefinition = {
  name: 'moon',
  summary: 'model-contrastive term toward the global representation, away from the previous local one (classification)',
  options: [
    { key: 'moonMu', flag: '--moon-mu <m>', help: 'MOON contrastive weight', default: 1, min: 'zero' },
    { key: 'moonTau', flag: '--moon-tau <t>', help: 'MOON temperature', default: 0.5, min: 'positive' },
  ],
  model: { projectionDim: 256 },
  classificationOnly: true,
  server: (setup) => averagingServer('moon', setup),
  client: (o) => ({
    plan: ({ model, global, context, reference }) => {
      const previous = entriesUnder(context, 'previous');
      const references = [reference('global', global), reference('previous', Object.keys(previous).length > 0 ? previous : global)];
      return {
        alpha: 0,
        freezeInputNorm: true,
        objective: (b) => {
          const targets = tf.tidy(() => references.map((m) => embedOf(m, b.x, false).z));
          return {
            loss: (x) => {
              const { z, logits } = embedOf(model, x, true);
              return tf.add(
                taskLoss(model, logits, b.y),
                tf.mul(o['moonMu']!, modelContrastiveLoss(z, targets[0]!, targets[1]!, o['moonTau']!)),
              ) as tf.Scalar;
            },
            dispose: () => tf.dispose(targets),
          };
        },
        after: (trained, ctx) => ({ ...ctx, arrays: replaceEntries(ctx.arrays, 'previous', trained) }),
      };
    },
  }),
};

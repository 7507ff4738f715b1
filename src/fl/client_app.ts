import * as tf from '@tensorflow/tfjs-core';
import type { SiteData } from '../data/manifest.js';
import { toNamedArrays, type NamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import { trainStep } from '../harmofl/train_step.js';
import { WeightPerturbation } from '../harmofl/weight_perturbation.js';
import { accuracy } from '../losses/classification.js';
import { diceCoefficient } from '../losses/dice.js';
import { Adam } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Sgd } from '../optim/sgd.js';
import { batches, type DataFormat } from './batches.js';
import { entriesUnder, replaceEntries, type ClientContext } from './client_context.js';
import {
  PROTOCOL_VERSION,
  MessageError,
  type EvaluateInstruction,
  type EvaluateReply,
  type TrainInstruction,
  type TrainReply,
} from './messages.js';
import { ModelCache } from './model_cache.js';
import { CONFIG_KEYS, configInt, runSpecOf, type OptimizerConfig, type RunSpec } from './run_spec.js';
import { resolveOptions, strategyNamed } from './strategies/index.js';
import type { ClientHook, FitPlan, StrategyDefinition } from './strategy.js';

/** The client half of a federation (after Flower's ClientApp): one site's training and evaluation on its own data. */
export interface ClientApp {
  /** Local training from the instruction's global model; returns the reply and the context to keep. */
  fit(instruction: TrainInstruction, context: ClientContext): Promise<{ reply: TrainReply; context: ClientContext }>;
  /** The reference metric of the instruction's model on the splits it names. */
  evaluate(instruction: EvaluateInstruction, context: ClientContext): Promise<EvaluateReply>;
}

const PLAIN: FitPlan = { alpha: 0, freezeInputNorm: true };

function baseOptimizer(c: OptimizerConfig): Optimizer {
  return c.kind === 'sgd'
    ? new Sgd({ lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay })
    : new Adam({ lr: c.lr, weightDecay: c.weightDecay });
}

/** An instruction's run spec with its strategy's client hook. */
function hookOf(config: TrainInstruction['config'], where: string): RunSpec & { hook: ClientHook } {
  const spec = runSpecOf(config, where);
  let definition: StrategyDefinition;
  try {
    definition = strategyNamed(spec.strategy);
  } catch (e) {
    throw new MessageError(`${where}: ${(e as Error).message}`);
  }
  return { ...spec, hook: definition.client(resolveOptions(definition, spec.options)) };
}

/** Builds the client app of one site. Models are shared through `models` (one per role and architecture per engine). */
export function createClientApp(site: SiteData, format: DataFormat, models: ModelCache = new ModelCache()): ClientApp {
  const stateFor = (arrays: NamedArrays, context: ClientContext): NamedArrays => ({ ...arrays, ...entriesUnder(context, 'local') });
  return {
    async fit(instruction, context) {
      const where = `train instruction to ${site.name} (round ${instruction.round})`;
      const spec = hookOf(instruction.config, where);
      const seed = configInt(instruction.config, CONFIG_KEYS.seed, where);
      const state = stateFor(instruction.arrays, context);
      const model = models.get('local', spec.model, state, true);
      const base = baseOptimizer(spec.optimizer);
      const kind = context.values['optimizer.kind'];
      if (typeof kind === 'string')
        base.setState({ kind, step: context.values['optimizer.step'] as number, slots: entriesUnder(context, 'optimizer') });
      const plan =
        spec.hook.plan?.({ model, global: state, context, reference: (role, s) => models.get(role, spec.model, s, true) }) ?? PLAIN;
      model.inputNorm.frozen = plan.freezeInputNorm;
      const opt = new WeightPerturbation(base, plan.alpha);
      const rng = new Rng(seed);
      let steps = 0;
      let lossSum = 0;
      try {
        for (let e = 0; e < spec.epochs; e++) {
          for await (const b of batches(site.train, format, spec.batch, rng, spec.augment ? rng : undefined)) {
            const objective = plan.objective?.(b);
            try {
              lossSum += trainStep(model, opt, b.x, b.y, {
                ...(plan.regularizer ? { regularizer: plan.regularizer } : {}),
                ...(objective ? { objective: objective.loss } : {}),
              }).loss;
            } finally {
              objective?.dispose();
              tf.dispose([b.x, b.y]);
            }
            steps++;
          }
        }
      } finally {
        plan.dispose?.();
      }
      const trained = toNamedArrays(model.params.state());
      const optimizerState = base.getState();
      base.dispose();
      const local = spec.hook.localEntries?.(model);
      let arrays = replaceEntries(context.arrays, 'optimizer', optimizerState.slots);
      if (local !== undefined)
        arrays = replaceEntries(arrays, 'local', Object.fromEntries(Object.entries(trained).filter(([name]) => local.has(name))));
      let next: ClientContext = {
        site: site.name,
        round: instruction.round,
        arrays,
        values: { ...context.values, 'optimizer.kind': optimizerState.kind, 'optimizer.step': optimizerState.step },
      };
      if (plan.after !== undefined) next = plan.after(trained, next);
      const reply: TrainReply = {
        kind: 'train-reply',
        version: PROTOCOL_VERSION,
        round: instruction.round,
        site: site.name,
        arrays: trained,
        samples: site.train.size,
        metrics: { trainLoss: steps > 0 ? lossSum / steps : Number.NaN, steps },
      };
      return { reply, context: next };
    },

    async evaluate(instruction, context) {
      const where = `evaluate instruction to ${site.name} (round ${instruction.round})`;
      const spec = runSpecOf(instruction.config, where);
      const splits = String(instruction.config[CONFIG_KEYS.splits] ?? 'val,test').split(',');
      const model = models.get('local', spec.model, stateFor(instruction.arrays, context), true);
      const metrics: Record<string, number> = {};
      const samples: Record<string, number> = {};
      for (const split of splits) {
        if (split !== 'train' && split !== 'val' && split !== 'test')
          throw new MessageError(`${where}: unknown split ${JSON.stringify(split)}`);
        const source = site[split];
        let weighted = 0;
        for await (const b of batches(source, format, spec.batch)) {
          // The reference's BatchNorm uses batch statistics at test time too.
          const logits = tf.tidy(() => model.forward(b.x, false));
          weighted +=
            (format.task === 'classification'
              ? accuracy(logits as tf.Tensor2D, b.y as tf.Tensor1D)
              : diceCoefficient(logits as tf.Tensor4D, b.y as tf.Tensor3D)) * b.size;
          tf.dispose([logits, b.x, b.y]);
        }
        metrics[split] = source.size > 0 ? weighted / source.size : Number.NaN;
        samples[split] = source.size;
      }
      return { kind: 'evaluate-reply', version: PROTOCOL_VERSION, round: instruction.round, site: site.name, metrics, samples };
    },
  };
}

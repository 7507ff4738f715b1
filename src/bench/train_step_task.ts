import * as tf from '@tensorflow/tfjs-core';
import type { TaskResult } from '../engine/worker_protocol.js';
import { arriveAndWait, breakBarrier } from '../engine/barrier.js';
import { Rng } from '../engine/rng.js';
import type { ModelConfig } from '../nn/model.js';
import { createModel } from '../harmofl/create_model.js';
import { WeightPerturbation } from '../harmofl/weight_perturbation.js';
import { Sgd } from '../optim/sgd.js';
import { trainStep } from '../harmofl/train_step.js';
import { setKernelThreads, startKernelProfile, takeKernelProfile, type KernelProfile } from '../engine/heap_kernels.js';

/** One benchmark job: timed HarmoFL training steps of a model on random data. */
export interface TrainStepBenchInput {
  config: ModelConfig;
  batch: number;
  warmupSteps: number;
  steps: number;
  ampL: number;
  seed: number;
  /** `predict`: time inference (one forward pass in evaluation mode, the reference's batch statistics) instead of training steps. */
  mode?: 'train' | 'predict';
  /** Shared by all workers of a row: timing starts once every worker has warmed up. */
  startTogether?: SharedArrayBuffer;
}

/** Absolute start and end (ms since the epoch, comparable across threads) of the timed steps. */
export interface TrainStepBenchOutput {
  startMs: number;
  endMs: number;
  images: number;
  backend: string;
  /** Seconds of the timed steps spent in AmpNorm (running-amplitude update and normalization). */
  ampNormSeconds: number;
  /** Time and work of the convolution kernels during the timed steps. */
  kernels: KernelProfile;
}

const now = (): number => performance.timeOrigin + performance.now();

/** Runs in a worker: builds the model, warms up, then times `steps` full steps (2 forward, 2 backward, SGD). */
async function benchTrainSteps(input: TrainStepBenchInput): Promise<TrainStepBenchOutput> {
  try {
    return await timedSteps(input);
  } catch (e) {
    // A worker that fails must not leave the others waiting at the start line.
    if (input.startTogether !== undefined) breakBarrier(input.startTogether);
    throw e;
  }
}

/** A model, its batch and one step of it, ready to time; AmpNorm's time is counted as the steps run. */
interface PreparedSteps {
  step: () => void;
  /** Milliseconds spent in AmpNorm since the last reset. */
  ampNormMs: () => number;
  resetAmpNorm: () => void;
  dispose: () => void;
}

/** Builds `input`'s model, batch and optimizer, with AmpNorm wrapped to time itself. */
function prepareSteps(input: Omit<TrainStepBenchInput, 'startTogether'>): PreparedSteps {
  const { config, batch, seed } = input;
  // With L > 0 the paper's EMA (momentum 0.1) makes every step pay for the amplitude FFT as well.
  const model = createModel(config, new Rng(seed), { L: input.ampL, momentum: input.ampL > 0 ? 0.1 : 0 });
  const [c, h, w] = config.inputShape;
  const x = tf.randomUniform([batch, h, w, c], 0, 1, 'float32', seed) as tf.Tensor4D;
  const y =
    config.kind === 'densenet'
      ? tf.tensor1d(
          Array.from({ length: batch }, (_, i) => i % 2),
          'int32',
        )
      : tf.tidy(() => tf.cast(tf.greater(tf.mean(x, 3), 0.5), 'int32'));
  const sgd = new Sgd({ lr: 1e-3, momentum: 0.9, weightDecay: 1e-4 });
  const wp = new WeightPerturbation(sgd, 0.05);
  // AmpNorm's own time is measured inside the run: a few percent is below run-to-run noise.
  let ampNormMs = 0;
  const ampNorm = model.inputNorm;
  // Training calls observeAndApply, prediction apply; neither calls the other.
  for (const method of ['observeAndApply', 'apply'] as const) {
    const run = ampNorm[method].bind(ampNorm);
    ampNorm[method] = (t) => {
      const s = now();
      const out = run(t);
      out.dataSync();
      ampNormMs += now() - s;
      return out;
    };
  }
  return {
    step:
      input.mode === 'predict'
        ? (): void => void tf.tidy(() => model.forward(x, false)).dataSync()
        : (): void => void trainStep(model, wp, x, y),
    ampNormMs: () => ampNormMs,
    resetAmpNorm: () => {
      ampNormMs = 0;
    },
    dispose: () => {
      sgd.dispose();
      model.dispose();
      tf.dispose([x, y]);
    },
  };
}

async function timedSteps(input: TrainStepBenchInput): Promise<TrainStepBenchOutput> {
  const run = prepareSteps(input);
  for (let i = 0; i < input.warmupSteps; i++) run.step();
  // Warm-up lengths differ by seconds between workers; timing them from a common start measures side-by-side throughput.
  if (input.startTogether !== undefined) arriveAndWait(input.startTogether);
  run.resetAmpNorm();
  startKernelProfile();
  const startMs = now();
  for (let i = 0; i < input.steps; i++) run.step();
  const endMs = now();
  const kernels = takeKernelProfile();
  run.dispose();
  return {
    startMs,
    endMs,
    images: input.batch * input.steps,
    backend: tf.getBackend(),
    ampNormSeconds: run.ampNormMs() / 1000,
    kernels,
  };
}

/** Paired steps of one client: `steps` pairs, each a step on 1 kernel thread then one on `threads`. */
export interface ScalingBenchInput extends Omit<TrainStepBenchInput, 'startTogether'> {
  threads: number;
}

/** Milliseconds of each pair's two steps, in order. */
export interface ScalingBenchOutput {
  oneThreadMs: number[];
  threadsMs: number[];
}

/**
 * Runs in a worker started with `threads` kernel threads: times steps alternating between 1 thread
 * and `threads`, so both see the same state of a shared host (rows minutes apart may not).
 */
function benchScaling(input: ScalingBenchInput): ScalingBenchOutput {
  const run = prepareSteps(input);
  const timed = (threads: number): number => {
    setKernelThreads(threads);
    const s = now();
    run.step();
    return now() - s;
  };
  const out: ScalingBenchOutput = { oneThreadMs: [], threadsMs: [] };
  try {
    // Warm up on both counts: the first steps grow the heap and start the helper threads.
    for (let i = 0; i < input.warmupSteps; i++) timed(i % 2 === 0 ? input.threads : 1);
    for (let i = 0; i < input.steps; i++) {
      out.oneThreadMs.push(timed(1));
      out.threadsMs.push(timed(input.threads));
    }
  } finally {
    setKernelThreads(input.threads);
    run.dispose();
  }
  return out;
}

/** The bench's worker tasks. */
export const tasks = {
  benchTrainSteps: async (input: TrainStepBenchInput): Promise<TaskResult<TrainStepBenchOutput>> => ({
    output: await benchTrainSteps(input),
  }),
  benchScaling: (input: ScalingBenchInput): Promise<TaskResult<ScalingBenchOutput>> => Promise.resolve({ output: benchScaling(input) }),
};

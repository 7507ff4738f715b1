import type { ModelConfig } from '../nn/model.js';
import { densenet121, unet32 } from '../nn/presets.js';

/** A benchmark configuration: a model, its batch, and how many steps to warm up and to time. */
export interface BenchConfig {
  name: string;
  model: ModelConfig;
  batch: number;
  /** AmpNorm L (0: the released code's DC-only normalization). */
  ampL: number;
  warmupSteps: number;
  steps: number;
  /** Pairs of the 1-thread / N-thread scaling measurement (default: `steps`). */
  scalingPairs?: number;
  /** `predict` rows time inference (as `harmofl predict`), with one worker. */
  mode?: 'train' | 'predict';
}

/** The configurations of `npm run bench`. */
export const BENCH_CONFIGS: BenchConfig[] = [
  // The wasm heap grows during the first steps; two warm-up steps reach its steady state (one for
  // unet32's long steps). V8 goes on optimizing densenet121's training step until about step 16
  // (its 1-thread step falls from 3.0-3.2 s over steps 2-10 to 2.9 s), so its training rows warm up
  // twelve steps on both sides, as a long training run would be timed (the paired scaling
  // measurement alternates 1 and 2 threads through them). Step times vary by 10-20% on a shared
  // host, so the rows whose 2-thread figures sit near the targets time several steps: five of
  // densenet121, two of unet32. The small models' steps take 0.1 s, mostly JavaScript between
  // kernels, which V8 is still optimizing after two steps (densenet-small's fell from 100 ms to
  // 75-80 ms over its first six): six warm-up steps, then twenty timed, on both sides. The paired
  // scaling measurement gave unet32 1.66-1.86x from run to run on two pairs, and densenet121's
  // pairs spread 1.62-1.95x within a run, so it times five pairs of unet32 and eight of
  // densenet121.
  { name: 'densenet121', model: densenet121(96), batch: 32, ampL: 0, warmupSteps: 12, steps: 5, scalingPairs: 8 },
  { name: 'densenet121+ampnorm-L0.1', model: densenet121(96), batch: 32, ampL: 0.1, warmupSteps: 12, steps: 2 },
  { name: 'unet32', model: unet32(384), batch: 4, ampL: 0, warmupSteps: 1, steps: 2, scalingPairs: 5 },
  { name: 'predict-densenet121', model: densenet121(96), batch: 32, ampL: 0, warmupSteps: 2, steps: 5, mode: 'predict' },
  { name: 'predict-unet32', model: unet32(384), batch: 4, ampL: 0, warmupSteps: 1, steps: 3, mode: 'predict' },
  {
    name: 'densenet-small',
    model: {
      kind: 'densenet',
      inputShape: [3, 32, 32],
      growthRate: 12,
      blockConfig: [3, 6, 12, 8],
      numInitFeatures: 24,
      bnSize: 4,
      numClasses: 2,
    },
    batch: 32,
    ampL: 0,
    warmupSteps: 6,
    steps: 20,
  },
  {
    name: 'unet-small',
    model: { kind: 'unet', inputShape: [3, 64, 64], initFeatures: 8, outChannels: 2 },
    batch: 8,
    ampL: 0,
    warmupSteps: 6,
    steps: 20,
  },
];

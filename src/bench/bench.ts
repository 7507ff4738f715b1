import { createBarrier } from '../engine/barrier.js';
import { WorkerPool } from '../engine/worker_pool.js';
import type { tasks } from './train_step_task.js';
import type { BackendChoice } from '../engine/backend.js';
import type { BenchConfig } from './configs.js';
import type { ScalingBenchOutput, TrainStepBenchInput, TrainStepBenchOutput } from './train_step_task.js';
import type { TorchBenchRequest, TorchBenchResult } from './torch_bench.js';
import { hostCheck } from './peak.js';

/** One measured row of `npm run bench -- --json`. */
export interface BenchRow {
  config: string;
  batch: number;
  /** Clients training side by side, each its own model. */
  workers: number;
  /** Kernel threads each client uses. */
  threads: number;
  imagesPerSecond: number;
  peakRssMiB: number;
  backend: string;
  /** Fraction of the step time spent in AmpNorm. */
  ampNormShare: number;
  /** The host check just before the row (`hostCheck` on its workers x threads cores): FMA GFLOP/s per core, slowest core; absent on wasm. */
  hostGflopsPerCore?: number;
  /** PyTorch's images per second for the same step, one model on the row's cores (workers x threads), same run (`--torch`). */
  torchImagesPerSecond?: number;
  /** The host check just before that PyTorch run. */
  torchHostGflopsPerCore?: number;
  /** imagesPerSecond / torchImagesPerSecond. */
  ratioToTorch?: number;
  /** Per convolution kernel of one client: direct-convolution GFLOP/s (all its threads together) and share of the step. */
  convKernels: Record<string, { gflops: number; share: number }>;
}

const TASKS = new URL('./train_step_task.js', import.meta.url);

/** Peak resident memory of this process (all worker engines included) while `work` runs. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakRssMiB: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRssMiB: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** A worker's input for `config`'s steps, its weights and data drawn from `seed`. */
function stepsInput(config: BenchConfig, seed: number): Omit<TrainStepBenchInput, 'startTogether'> {
  return {
    config: config.model,
    batch: config.batch,
    warmupSteps: config.warmupSteps,
    steps: config.steps,
    ampL: config.ampL,
    seed,
    ...(config.mode !== undefined ? { mode: config.mode } : {}),
  };
}

/**
 * Measures one configuration with `workers` worker threads, each training its own model side by
 * side (as parallel federated clients do) with `threads` kernel threads. The workers start their timed steps together, after their
 * own warm-up; throughput is all images over the wall time from that start to the last one's end.
 */
export async function benchRow(config: BenchConfig, workers: number, backend: BackendChoice, threads = 1): Promise<BenchRow> {
  const host = hostCheck(workers * threads);
  const { result, peakRssMiB } = await withPeakRss(async () => {
    const pool = new WorkerPool<typeof tasks>(workers, TASKS, backend, threads);
    try {
      await pool.ready();
      const startTogether = createBarrier(workers);
      const inputs = Array.from({ length: workers }, (_, i): TrainStepBenchInput => ({ ...stepsInput(config, 1 + i), startTogether }));
      return await Promise.all(inputs.map((input) => pool.run('benchTrainSteps', input)));
    } finally {
      await pool.close();
    }
  });
  const start = Math.min(...result.map((r) => r.startMs));
  const end = Math.max(...result.map((r) => r.endMs));
  const images = result.reduce((a, r) => a + r.images, 0);
  const busySeconds = result.reduce((a, r) => a + (r.endMs - r.startMs) / 1000, 0);
  const ampNormShare = result.reduce((a, r) => a + r.ampNormSeconds, 0) / busySeconds;
  return {
    config: config.name,
    batch: config.batch,
    workers,
    threads,
    imagesPerSecond: images / ((end - start) / 1000),
    peakRssMiB,
    ...(host !== undefined ? { hostGflopsPerCore: host } : {}),
    ampNormShare,
    backend: result[0]!.backend,
    convKernels: convKernels(result, busySeconds),
  };
}

/** Each convolution kernel's rate per client: all clients' work over all clients' time in it. */
function convKernels(result: TrainStepBenchOutput[], busySeconds: number): BenchRow['convKernels'] {
  const totals = new Map<string, { seconds: number; flops: number }>();
  for (const r of result)
    for (const [name, e] of Object.entries(r.kernels)) {
      const t = totals.get(name) ?? { seconds: 0, flops: 0 };
      t.seconds += e.seconds;
      t.flops += e.flops;
      totals.set(name, t);
    }
  return Object.fromEntries([...totals].map(([name, t]) => [name, { gflops: t.flops / t.seconds / 1e9, share: t.seconds / busySeconds }]));
}

/** One client's speed-up from 1 kernel thread to `threads`, from steps alternating between the two in one process. */
export interface ScalingRow {
  config: string;
  batch: number;
  threads: number;
  /** Pairs timed (a 1-thread step, then a `threads` step). */
  pairs: number;
  /** All 1-thread step time over all `threads` step time: the ratio of the two throughputs. */
  speedup: number;
  /** The lowest and highest ratio of one pair. */
  pairRange: [number, number];
  /** Each pair's step times in ms, 1 thread and `threads`. */
  stepMs: { oneThread: number[]; threads: number[] };
  oneThreadImagesPerSecond: number;
  threadsImagesPerSecond: number;
  /** The host check before the pairs, on `threads` cores. */
  hostGflopsPerCore?: number;
}

/**
 * Measures one client's scaling from 1 to `threads` kernel threads: one worker alternates a step
 * on each, so a shared host's slow minutes fall on both sides instead of on one row.
 */
export async function benchScaling(config: BenchConfig, threads: number, backend: BackendChoice): Promise<ScalingRow> {
  const host = hostCheck(threads);
  const pool = new WorkerPool<typeof tasks>(1, TASKS, backend, threads);
  let out: ScalingBenchOutput;
  try {
    await pool.ready();
    out = await pool.run('benchScaling', { ...stepsInput(config, 1), steps: config.scalingPairs ?? config.steps, threads });
  } finally {
    await pool.close();
  }
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const ratios = out.oneThreadMs.map((t, i) => t / out.threadsMs[i]!);
  const perSecond = (ms: number[]): number => (config.batch * ms.length) / (sum(ms) / 1000);
  return {
    config: config.name,
    batch: config.batch,
    threads,
    pairs: ratios.length,
    speedup: sum(out.oneThreadMs) / sum(out.threadsMs),
    pairRange: [Math.min(...ratios), Math.max(...ratios)],
    stepMs: { oneThread: out.oneThreadMs, threads: out.threadsMs },
    oneThreadImagesPerSecond: perSecond(out.oneThreadMs),
    threadsImagesPerSecond: perSecond(out.threadsMs),
    ...(host !== undefined ? { hostGflopsPerCore: host } : {}),
  };
}

/**
 * The PyTorch run a row compares with: the same model, batch and step, one model on as many
 * threads as the row uses cores (workers x threads), since PyTorch's way to use cores is threads.
 */
export function torchRequest(config: BenchConfig, row: BenchRow): TorchBenchRequest {
  return {
    model: config.model,
    batch: config.batch,
    ampL: config.ampL,
    warmupSteps: config.warmupSteps,
    steps: config.steps,
    threads: row.workers * row.threads,
    seed: 1,
    mode: config.mode ?? 'train',
  };
}

/** The row with PyTorch's figure, the ratio to it, and the host check taken before that PyTorch run. */
export function withTorch(row: BenchRow, torch: TorchBenchResult, host: number | undefined): BenchRow {
  return {
    ...row,
    torchImagesPerSecond: torch.imagesPerSecond,
    ratioToTorch: row.imagesPerSecond / torch.imagesPerSecond,
    ...(host !== undefined ? { torchHostGflopsPerCore: host } : {}),
  };
}

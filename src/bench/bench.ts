import { createBarrier } from '../engine/barrier.js';
import { WorkerPool } from '../engine/worker_pool.js';
import type { tasks } from './train_step_task.js';
import type { BackendChoice } from '../engine/backend.js';
import type { BenchConfig } from './configs.js';
import type { TrainStepBenchInput } from './train_step_task.js';

/** One measured row of `npm run bench -- --json`. */
export interface BenchRow {
  config: string;
  batch: number;
  workers: number;
  imagesPerSecond: number;
  peakRssMiB: number;
  backend: string;
  /** Fraction of the step time spent in AmpNorm. */
  ampNormShare: number;
  /** PyTorch figure this row compares with (same thread count), when the issue gives one. */
  torchImagesPerSecond?: number;
  ratioToTorch?: number;
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

/**
 * Measures one configuration with `workers` threads, each training its own model side by side
 * (as parallel federated clients do). The workers start their timed steps together, after their
 * own warm-up; throughput is all images over the wall time from that start to the last one's end.
 */
export async function benchRow(config: BenchConfig, workers: number, backend: BackendChoice): Promise<BenchRow> {
  const { result, peakRssMiB } = await withPeakRss(async () => {
    const pool = new WorkerPool<typeof tasks>(workers, TASKS, backend);
    try {
      await pool.ready();
      const startTogether = createBarrier(workers);
      const inputs = Array.from({ length: workers }, (_, i): TrainStepBenchInput => ({
        config: config.model,
        batch: config.batch,
        warmupSteps: config.warmupSteps,
        steps: config.steps,
        ampL: config.ampL,
        seed: 1 + i,
        ...(config.mode !== undefined ? { mode: config.mode } : {}),
        startTogether,
      }));
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
  const imagesPerSecond = images / ((end - start) / 1000);
  const torch = workers === 1 ? config.torch1 : workers === 2 ? config.torch2 : undefined;
  return {
    config: config.name,
    batch: config.batch,
    workers,
    imagesPerSecond,
    peakRssMiB,
    ampNormShare,
    backend: result[0]!.backend,
    ...(torch !== undefined ? { torchImagesPerSecond: torch, ratioToTorch: imagesPerSecond / torch } : {}),
  };
}

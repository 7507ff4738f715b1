import type { Federation } from '../data/manifest.js';
import type { WorkerPool } from '../engine/worker_pool.js';
import type { FederationEvent } from '../fl/round_loop.js';
import { simulate } from '../fl/simulate.js';
import type { SimulationTasks } from '../fl/simulation_tasks.js';
import type { TrainConfig, TrainSummary } from '../fl/train_config.js';

/** Who hears of a run's events (the CLI's progress bar and tables). */
export type EventListener = (event: FederationEvent, config: TrainConfig) => void;

/** Runs one strategy in simulation to the end, telling `listener` of each event. */
export async function train(
  config: TrainConfig,
  fed: Federation,
  pool: WorkerPool<SimulationTasks>,
  options: { resume?: boolean; listener?: EventListener } = {},
): Promise<TrainSummary> {
  const run = simulate(config, fed, pool, { resume: options.resume === true });
  for (;;) {
    const next = await run.next();
    if (next.done === true) return next.value;
    options.listener?.(next.value, config);
  }
}

import path from 'node:path';
import type { Federation } from '../data/manifest.js';
import type { WorkerPool } from '../engine/worker_pool.js';
import { federate } from './federate.js';
import type { FederationEvent } from './round_loop.js';
import { SimulationGrid } from './simulation_grid.js';
import type { SimulationTasks } from './simulation_tasks.js';
import type { TrainConfig, TrainSummary } from './train_config.js';

/** URL of the simulation's task table, for `new WorkerPool(n, SIMULATION_TASKS)`. */
export const SIMULATION_TASKS = new URL('./simulation_tasks.js', import.meta.url);

/**
 * Federated training in simulation: the round loop over a grid of client apps on the worker
 * pool, every site's context kept under `out/clients/<site>`, the server's outputs in `out`.
 * Yields the loop's events; returns the run's summary. Any failed site fails the run (in
 * simulation a failure is a bug or bad data, not a network fault).
 */
export function simulate(
  config: TrainConfig,
  fed: Federation,
  pool: WorkerPool<SimulationTasks>,
  options: { resume?: boolean } = {},
): AsyncGenerator<FederationEvent, TrainSummary> {
  const sites = fed.sites.map((s) => s.name);
  return federate(config, fed.task, sites, () => SimulationGrid.open(pool, config.data, sites, path.join(config.out, 'clients')), {
    resume: options.resume === true,
  });
}

import type { WorkerPool } from '../engine/worker_pool.js';
import type { ClientApp } from '../fl/client_app.js';
import type { SimulationTasks } from '../fl/simulation_tasks.js';
import type { DataRef } from '../fl/site_data.js';

/**
 * A site's client app on a worker thread (the simulation's tasks, so the very same
 * `createClientApp`): training holds its thread for the whole local epoch loop, and the
 * SuperNode's heartbeats, on the main thread, must keep going meanwhile or the SuperLink counts
 * the node offline and drops its reply.
 */
export function workerClientApp(pool: WorkerPool<SimulationTasks>, data: DataRef, site: string): ClientApp {
  return {
    fit: (instruction, context) => pool.run('fit', { data, site, instruction, context }),
    evaluate: (instruction, context) => pool.run('evaluate', { data, site, instruction, context }),
  };
}

import path from 'node:path';
import type { Federation } from '../data/manifest.js';
import { toNamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import type { WorkerPool } from '../engine/worker_pool.js';
import { createModel } from '../harmofl/create_model.js';
import { runFederation, type FederationEvent } from './round_loop.js';
import { RunDirectory } from './run_directory.js';
import { SimulationGrid } from './simulation_grid.js';
import type { SimulationTasks } from './simulation_tasks.js';
import { strategyNamed } from './strategies/index.js';
import { runSpecOfConfig, type TrainConfig, type TrainSummary } from './train_config.js';

/** URL of the simulation's task table, for `new WorkerPool(n, SIMULATION_TASKS)`. */
export const SIMULATION_TASKS = new URL('./simulation_tasks.js', import.meta.url);

/**
 * Federated training in simulation: the round loop over a grid of client apps on the worker
 * pool, every site's context kept under `out/clients/<site>`, the server's outputs in `out`.
 * Yields the loop's events; returns the run's summary. Any failed site fails the run (in
 * simulation a failure is a bug or bad data, not a network fault).
 */
export async function* simulate(config: TrainConfig, fed: Federation, pool: WorkerPool<SimulationTasks>, options: { resume?: boolean } = {}): AsyncGenerator<FederationEvent, TrainSummary> {
  const sites = fed.sites.map((s) => s.name);
  const model = createModel(config.model.config, new Rng(config.seed), config.model.amp);
  const initial = toNamedArrays(model.params.state());
  const trainable = new Set(model.params.trainable().keys());
  model.dispose();
  const definition = strategyNamed(config.strategy);
  const strategy = definition.server({
    options: config.options,
    trainable,
    clientMomentum: config.optimizer.kind === 'sgd' ? config.optimizer.momentum : 0,
    weighting: config.weighting,
    minFitClients: sites.length,
    acceptFailures: false,
  });
  const directory = new RunDirectory(config, fed.task, sites);
  const resume = await directory.open(options.resume === true);
  const grid = await SimulationGrid.open(pool, config.data, sites, path.join(config.out, 'clients'));
  const run = runFederation({
    strategy,
    grid,
    spec: runSpecOfConfig(config),
    rounds: config.rounds,
    seed: config.seed,
    initial,
    ...(resume !== undefined ? { resume } : {}),
  });
  for (;;) {
    const next = await run.next();
    if (next.done === true) return await directory.finish(next.value.best);
    const event = next.value;
    if (event.type === 'round') {
      const failures = event.report.failures ?? [];
      if (failures.length > 0) throw new Error(`round ${event.report.round + 1}: ${failures.map((f) => `${f.site}: ${f.reason}`).join('; ')}`);
      await directory.record(event);
    }
    yield event;
  }
}

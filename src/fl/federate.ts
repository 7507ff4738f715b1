import type { Task } from '../data/manifest.js';
import { toNamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import { createModel } from '../harmofl/create_model.js';
import type { Grid } from './grid.js';
import { runFederation, type FederationEvent } from './round_loop.js';
import { RunDirectory } from './run_directory.js';
import { strategyNamed } from './strategies/index.js';
import { runSpecOfConfig, type TrainConfig, type TrainSummary } from './train_config.js';

/** How a run treats sites that do not answer. */
export interface Tolerance {
  /** Fewest train replies a round aggregates; a round with fewer keeps the global model. */
  minClients: number;
  /** Deadline of each round trip. */
  roundTimeoutMs?: number;
}

/**
 * One federated run over any grid: the strategy, the round loop, and the run folder's
 * persistence. Without `tolerance` every site must answer every round (the simulation, where a
 * failure is a bug); with it, failures are reported and the round goes on (the network).
 * `openGrid` runs after the run folder is opened (a fresh run clears the clients' folder first).
 */
export async function* federate(
  config: TrainConfig,
  task: Task,
  sites: readonly string[],
  openGrid: () => Promise<Grid>,
  options: { resume?: boolean; tolerance?: Tolerance } = {},
): AsyncGenerator<FederationEvent, TrainSummary> {
  const model = createModel(config.model.config, new Rng(config.seed), config.model.amp);
  const initial = toNamedArrays(model.params.state());
  const trainable = new Set(model.params.trainable().keys());
  model.dispose();
  const definition = strategyNamed(config.strategy);
  const tolerance = options.tolerance;
  const strategy = definition.server({
    options: config.options,
    trainable,
    clientMomentum: config.optimizer.kind === 'sgd' ? config.optimizer.momentum : 0,
    weighting: config.weighting,
    minFitClients: tolerance?.minClients ?? sites.length,
    acceptFailures: tolerance !== undefined,
  });
  const directory = new RunDirectory(config, task, sites);
  const resume = await directory.open(options.resume === true);
  const run = runFederation({
    strategy,
    grid: await openGrid(),
    spec: runSpecOfConfig(config),
    rounds: config.rounds,
    seed: config.seed,
    initial,
    ...(tolerance?.roundTimeoutMs !== undefined ? { roundTimeoutMs: tolerance.roundTimeoutMs } : {}),
    ...(resume !== undefined ? { resume } : {}),
  });
  for (;;) {
    const next = await run.next();
    if (next.done === true) return await directory.finish(next.value.best);
    const event = next.value;
    if (event.type === 'round') {
      const failures = event.report.failures ?? [];
      if (tolerance === undefined && failures.length > 0)
        throw new Error(`round ${event.report.round + 1}: ${failures.map((f) => `${f.site}: ${f.reason}`).join('; ')}`);
      await directory.record(event);
    }
    yield event;
  }
}

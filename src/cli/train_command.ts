import type { Command } from 'commander';
import { WorkerPool } from '../engine/worker_pool.js';
import { STRATEGY_NAMES, type StrategyName } from '../fl/strategies.js';
import { addTrainOptions, oneOf, prepareRun, runTraining, type TrainOptions } from './train_options.js';

/** `harmofl train`: federated training of one strategy in simulation. */
export function registerTrain(program: Command): void {
  addTrainOptions(program.command('train').description('federated training in simulation (clients in parallel on worker threads)'), 'runs/latest')
    .option('--strategy <name>', STRATEGY_NAMES.join(' | '), oneOf('--strategy', STRATEGY_NAMES), 'harmofl' as StrategyName)
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .action(async (o: TrainOptions & { strategy: StrategyName; resume?: boolean }) => {
      const { fed, configFor } = await prepareRun(o);
      const pool = new WorkerPool(o.workers, o.backend);
      try {
        await pool.ready();
        const s = await runTraining(configFor(o.strategy, o.out), fed, pool, o.resume === true);
        process.stdout.write(`best round ${s.bestRound + 1}: mean test ${s.metric} ${(s.meanTest * 100).toFixed(2)}% (${s.wallSeconds.toFixed(1)} s); results in ${o.out}\n`);
      } finally {
        await pool.close();
      }
    });
}

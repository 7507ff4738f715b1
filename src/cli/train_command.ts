import type { Command } from 'commander';
import { train } from '../experiment/train.js';
import { STRATEGY_NAMES } from '../fl/strategies/index.js';
import { oneOf } from './options.js';
import { addTrainOptions, prepareFromCli, printEvents, withPool, type TrainOptions } from './train_options.js';

/** `harmofl train`: federated training of one strategy in simulation. */
export function registerTrain(program: Command): void {
  addTrainOptions(
    program.command('train').description('federated training in simulation (clients in parallel on worker threads)'),
    'runs/latest',
  )
    .option('--strategy <name>', STRATEGY_NAMES.join(' | '), oneOf('--strategy', STRATEGY_NAMES), 'harmofl')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .action(async (o: TrainOptions & { strategy: string; resume?: boolean }) => {
      const prepared = await prepareFromCli(o);
      const config = prepared.configFor(o.strategy, o.out);
      const s = await withPool(o, (pool) => train(config, prepared.fed, pool, { resume: o.resume === true, listener: printEvents }));
      process.stdout.write(
        `best round ${s.bestRound + 1}: mean test ${s.metric} ${(s.meanTest * 100).toFixed(2)}% (${s.wallSeconds.toFixed(1)} s); results in ${o.out}\n`,
      );
    });
}

import { averagingServer } from '../averaging.js';
import type { StrategyDefinition } from '../strategy.js';

/** FedAvg (McMahan et al. 2017): the weighted mean of the clients' models. */
export const fedavg: StrategyDefinition = {
  name: 'fedavg',
  summary: 'weighted mean of the local models',
  options: [],
  model: {},
  server: (setup) => averagingServer('fedavg', setup),
  client: () => ({}),
};

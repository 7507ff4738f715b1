import { averagingServer } from '../averaging.js';
import type { StrategyDefinition } from '../strategy.js';

/** FedBN (Li et al. 2021): every client keeps its own BatchNorm parameters and statistics. */
export const fedbn: StrategyDefinition = {
  name: 'fedbn',
  summary: 'each site keeps its own BatchNorm (affine, running statistics); the rest is averaged',
  options: [],
  model: { affineBatchNorm: true },
  server: (setup) => averagingServer('fedbn', setup),
  client: () => ({ localEntries: (model) => model.params.normalizationNames() }),
};

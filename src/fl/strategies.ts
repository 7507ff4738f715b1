import { weightedAverage, type ClientInstructions, type Strategy } from './strategy.js';

/** Strategy names `harmofl train --strategy` accepts in this release. */
export const STRATEGY_NAMES = ['fedavg', 'fedprox', 'harmofl', 'amp-only', 'wp-only'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Hyper-parameters a strategy may use. */
export interface StrategyOptions {
  alpha: number;
  mu: number;
}

/** Averaging strategies that differ only in what clients are told to do. */
function averaging(name: StrategyName, instructions: (round: number) => ClientInstructions): Strategy {
  return { name, configureRound: instructions, aggregate: (_round, _global, updates, weights) => weightedAverage(updates, weights) };
}

/**
 * Builds a strategy. HarmoFL = AmpNorm (frozen after the first aggregation) + weight perturbation;
 * `amp-only` and `wp-only` are its ablations; FedProx adds a proximal term to plain FedAvg.
 */
export function createStrategy(name: StrategyName, o: StrategyOptions): Strategy {
  switch (name) {
    case 'fedavg':
      return averaging(name, () => ({ alpha: 0, proximalMu: 0, freezeAmpNorm: true }));
    case 'fedprox':
      return averaging(name, () => ({ alpha: 0, proximalMu: o.mu, freezeAmpNorm: true }));
    case 'harmofl':
      return averaging(name, (round) => ({ alpha: o.alpha, proximalMu: 0, freezeAmpNorm: round > 0 }));
    case 'amp-only':
      return averaging(name, (round) => ({ alpha: 0, proximalMu: 0, freezeAmpNorm: round > 0 }));
    case 'wp-only':
      return averaging(name, () => ({ alpha: o.alpha, proximalMu: 0, freezeAmpNorm: true }));
  }
}

/** Whether a strategy's model normalizes amplitudes (otherwise AmpNorm is an identity that never learns an amplitude). */
export function usesAmpNorm(name: StrategyName): boolean {
  return name === 'harmofl' || name === 'amp-only';
}

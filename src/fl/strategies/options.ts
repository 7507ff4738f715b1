import type { StrategyOption } from '../strategy.js';

/** Weight perturbation radius (HarmoFL and its `wp-only` ablation). */
export const ALPHA: StrategyOption = { key: 'alpha', flag: '--alpha <a>', help: 'weight perturbation radius', default: 0.05, min: 'zero' };

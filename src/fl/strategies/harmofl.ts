import { averagingServer } from '../averaging.js';
import type { ClientHook, StrategyDefinition, StrategyOptions } from '../strategy.js';
import { ALPHA } from './options.js';

/** The context value that marks a site's amplitude as settled (after its first round). */
const FROZEN = 'harmofl.frozen';

/**
 * HarmoFL's client: AmpNorm learns the site's amplitude in its first round, then keeps the
 * federation's (frozen); weight perturbation with radius `alpha` when `perturb`.
 */
function harmoflClient(o: StrategyOptions, amp: boolean, perturb: boolean): ClientHook {
  return {
    plan: ({ context }) => ({
      alpha: perturb ? o['alpha']! : 0,
      freezeInputNorm: !amp || context.values[FROZEN] === true,
      after: (_trained, ctx) => (amp ? { ...ctx, values: { ...ctx.values, [FROZEN]: true } } : ctx),
    }),
  };
}

/** HarmoFL (Jiang et al. 2022): AmpNorm plus client weight perturbation; the server averages, amplitude included. */
export const harmofl: StrategyDefinition = {
  name: 'harmofl',
  summary: 'AmpNorm (amplitude normalization) plus weight perturbation',
  options: [ALPHA],
  model: { ampNorm: true },
  server: (setup) => averagingServer('harmofl', setup),
  client: (o) => harmoflClient(o, true, true),
};

/** HarmoFL's ablation with AmpNorm alone. */
export const ampOnly: StrategyDefinition = {
  name: 'amp-only',
  summary: 'HarmoFL ablation: AmpNorm without weight perturbation',
  options: [],
  model: { ampNorm: true },
  server: (setup) => averagingServer('amp-only', setup),
  client: (o) => harmoflClient(o, true, false),
};

/** HarmoFL's ablation with weight perturbation alone. */
export const wpOnly: StrategyDefinition = {
  name: 'wp-only',
  summary: 'HarmoFL ablation: weight perturbation without AmpNorm',
  options: [ALPHA],
  model: {},
  server: (setup) => averagingServer('wp-only', setup),
  client: (o) => harmoflClient(o, false, true),
};

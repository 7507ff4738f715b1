import type { NamedArrays } from '../../engine/named_arrays.js';
import { averagingServer, weightedAverage } from '../averaging.js';
import type { StrategyDefinition } from '../strategy.js';

/**
 * FedNova (Wang et al. 2020): each client's update is divided by its effective number of local
 * steps a_i (with SGD momentum rho: [tau - rho(1 - rho^tau)/(1 - rho)] / (1 - rho)), averaged, and
 * scaled by the mean effective steps, so clients that ran more steps do not pull harder.
 */
export const fednova: StrategyDefinition = {
  name: 'fednova',
  summary: "updates normalized by each client's effective local steps (SGD momentum corrected)",
  options: [],
  model: {},
  server: (setup) => {
    const rho = setup.clientMomentum;
    const effective = (tau: number): number => (rho === 0 ? tau : (tau - (rho * (1 - rho ** tau)) / (1 - rho)) / (1 - rho));
    return averagingServer('fednova', setup, (_round, global, replies, weights) => {
      const averaged = weightedAverage(replies, weights);
      const a = replies.map((r) => Math.max(effective(r.metrics['steps']!), 1e-12));
      const tauEff = a.reduce((s, ai, i) => s + weights[i]! * ai, 0);
      const out: NamedArrays = { ...averaged };
      for (const name of setup.trainable) {
        const g = global[name]!;
        const data = Float32Array.from(g.data);
        replies.forEach((r, i) => {
          const scale = (tauEff * weights[i]!) / a[i]!;
          const w = r.arrays[name]!.data;
          for (let k = 0; k < data.length; k++) data[k] -= scale * (g.data[k]! - w[k]!);
        });
        out[name] = { shape: g.shape.slice(), data };
      }
      return out;
    });
  },
  client: () => ({}),
};

import type { NamedArrays } from '../../engine/named_arrays.js';
import { averagingServer, weightedAverage } from '../averaging.js';
import type { StrategyDefinition } from '../strategy.js';

/** FedAdam's adaptivity eps (Reddi et al. 2021). */
const SERVER_EPS = 1e-3;

/**
 * FedAdam (Reddi et al. 2021): the averaged client change is a pseudo-gradient for a server Adam
 * (no bias correction); its moments persist across rounds and resumes.
 */
export const fedadam: StrategyDefinition = {
  name: 'fedadam',
  summary: 'server Adam on the averaged client change',
  options: [{ key: 'serverLr', flag: '--server-lr <x>', help: 'FedAdam server learning rate', default: 1e-2, min: 'positive' }],
  model: {},
  server: (setup) => {
    const lr = setup.options['serverLr']!;
    let m: NamedArrays = {};
    let v: NamedArrays = {};
    const [b1, b2] = [0.9, 0.99];
    return averagingServer(
      'fedadam',
      setup,
      (_round, global, replies, weights) => {
        const averaged = weightedAverage(replies, weights);
        const out: NamedArrays = { ...averaged };
        for (const name of setup.trainable) {
          const g = global[name]!;
          const avg = averaged[name]!.data;
          const mk = m[name]?.data ?? new Float32Array(g.data.length);
          const vk = v[name]?.data ?? new Float32Array(g.data.length);
          const data = Float32Array.from(g.data);
          for (let k = 0; k < data.length; k++) {
            const delta = avg[k]! - g.data[k]!;
            mk[k] = b1 * mk[k]! + (1 - b1) * delta;
            vk[k] = b2 * vk[k]! + (1 - b2) * delta * delta;
            data[k] = g.data[k]! + (lr * mk[k]!) / (Math.sqrt(vk[k]!) + SERVER_EPS);
          }
          m[name] = { shape: g.shape.slice(), data: mk };
          v[name] = { shape: g.shape.slice(), data: vk };
          out[name] = { shape: g.shape.slice(), data };
        }
        return out;
      },
      {
        getState: () => ({
          ...Object.fromEntries(Object.entries(m).map(([k, a]) => [`m/${k}`, a])),
          ...Object.fromEntries(Object.entries(v).map(([k, a]) => [`v/${k}`, a])),
        }),
        setState: (state) => {
          m = {};
          v = {};
          for (const [k, a] of Object.entries(state)) (k.startsWith('m/') ? m : v)[k.slice(2)] = a;
        },
      },
    );
  },
  client: () => ({}),
};

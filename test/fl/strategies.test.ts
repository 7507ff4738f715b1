import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createStrategy, type StrategyOptions } from '../../src/fl/strategies.js';
import { weightedAverage, type ClientUpdate } from '../../src/fl/strategy.js';
import { emptySiteStates, readCheckpoint, writeCheckpoint } from '../../src/fl/checkpoint.js';
import type { NamedArrays } from '../../src/engine/named_arrays.js';

const arr = (xs: number[]): { shape: number[]; data: Float32Array } => ({ shape: [xs.length], data: Float32Array.from(xs) });
const global: NamedArrays = { w: arr([1, 1]), amp: arr([5, 5]) };
const update = (site: string, w: number[], amp: number[], steps: number): ClientUpdate => ({ site, state: { w: arr(w), amp: arr(amp) }, samples: 10, steps, trainLoss: 0 });
const options = (o: Partial<StrategyOptions> = {}): StrategyOptions => ({ alpha: 0, mu: 0, trainable: new Set(['w']), normalization: new Set(), clientMomentum: 0, serverLr: 0.1, serverEps: 1e-3, moonMu: 1, moonTau: 0.5, ...o });
const close = (a: ArrayLike<number>, b: number[]): void => b.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) < 1e-5, `${a[i]} vs ${v}`));

test('FedNova equals FedAvg when every client ran the same steps, and normalizes by steps otherwise', () => {
  const nova = createStrategy('fednova', options());
  const same = [update('a', [0, 2], [1, 1], 4), update('b', [2, 4], [3, 3], 4)];
  close(nova.aggregate(0, global, same, [0.5, 0.5])['w']!.data, Array.from(weightedAverage(same, [0.5, 0.5])['w']!.data));
  // a: 2 steps moved -1 per coordinate; b: 8 steps moved +4. tau_eff = 5; w = 1 - 5*(0.5*1/2 + 0.5*(-4)/8) = 1.
  const uneven = [update('a', [0, 0], [1, 1], 2), update('b', [5, 5], [3, 3], 8)];
  const out = nova.aggregate(0, global, uneven, [0.5, 0.5]);
  close(out['w']!.data, [1, 1]);
  close(out['amp']!.data, [2, 2]); // non-trained state is averaged
  // With momentum the effective steps shrink: a_i = [tau - rho(1-rho^tau)/(1-rho)]/(1-rho).
  const rho = 0.9;
  const eff = (tau: number): number => (tau - (rho * (1 - rho ** tau)) / (1 - rho)) / (1 - rho);
  const withMomentum = createStrategy('fednova', options({ clientMomentum: rho })).aggregate(0, global, uneven, [0.5, 0.5]);
  const tauEff = 0.5 * eff(2) + 0.5 * eff(8);
  close(withMomentum['w']!.data, [1 - tauEff * (0.5 * 1 / eff(2) + 0.5 * -4 / eff(8))].flatMap((v) => [v, v]));
});

test('FedAdam takes an adaptive server step on the averaged change and keeps its moments across a checkpoint', async () => {
  const adam = createStrategy('fedadam', options());
  const updates = [update('a', [3, 1], [1, 1], 4), update('b', [3, 1], [3, 3], 4)];
  const first = adam.aggregate(0, global, updates, [0.5, 0.5]);
  // delta = [2, 0]: m = 0.2, v = 0.04 -> step 0.1 * 0.2 / (0.2 + 1e-3); zero change stays put.
  close(first['w']!.data, [1 + (0.1 * 0.2) / (0.2 + 1e-3), 1]);
  close(first['amp']!.data, [2, 2]);
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'harmofl-ckpt-')), 'c.hflc');
  await writeCheckpoint(file, {
    header: { format: 'harmofl-checkpoint', version: 1, round: 0, best: null, config: {}, task: 'classification', sites: ['a', 'b'], optimizers: {} },
    global: first,
    optimizers: new Map(),
    server: adam.getState!(),
    siteStates: emptySiteStates(),
  });
  const restored = createStrategy('fedadam', options());
  restored.setState!((await readCheckpoint(file)).server);
  close(restored.aggregate(1, first, updates, [0.5, 0.5])['w']!.data, Array.from(adam.aggregate(1, first, updates, [0.5, 0.5])['w']!.data));
});

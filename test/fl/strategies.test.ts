import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { weightedAverage } from '../../src/fl/averaging.js';
import { readCheckpoint, writeCheckpoint } from '../../src/fl/checkpoint.js';
import { PROTOCOL_VERSION, type TrainReply } from '../../src/fl/messages.js';
import { strategyNamed, STRATEGIES } from '../../src/fl/strategies/index.js';
import type { ServerSetup } from '../../src/fl/strategy.js';
import type { NamedArrays } from '../../src/engine/named_arrays.js';

const arr = (xs: number[]): { shape: number[]; data: Float32Array } => ({ shape: [xs.length], data: Float32Array.from(xs) });
const global: NamedArrays = { w: arr([1, 1]), amp: arr([5, 5]) };
const reply = (site: string, w: number[], amp: number[], steps: number, samples = 10): TrainReply => ({
  kind: 'train-reply',
  version: PROTOCOL_VERSION,
  round: 0,
  site,
  arrays: { w: arr(w), amp: arr(amp) },
  samples,
  metrics: { steps, trainLoss: 0 },
});
const setup = (o: Partial<ServerSetup> = {}): ServerSetup => ({
  options: { serverLr: 0.1 },
  trainable: new Set(['w']),
  clientMomentum: 0,
  weighting: 'uniform',
  minFitClients: 1,
  acceptFailures: true,
  ...o,
});
const close = (a: ArrayLike<number>, b: number[]): void => b.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) < 1e-5, `${a[i]} vs ${v}`));

test('FedNova equals FedAvg when every client ran the same steps, and normalizes by steps otherwise', () => {
  const nova = strategyNamed('fednova').server(setup());
  const same = [reply('a', [0, 2], [1, 1], 4), reply('b', [2, 4], [3, 3], 4)];
  close(nova.aggregateTrain(0, global, same, [])!['w']!.data, Array.from(weightedAverage(same, [0.5, 0.5])['w']!.data));
  // a: 2 steps moved -1 per coordinate; b: 8 steps moved +4. tau_eff = 5; w = 1 - 5*(0.5*1/2 + 0.5*(-4)/8) = 1.
  const uneven = [reply('a', [0, 0], [1, 1], 2), reply('b', [5, 5], [3, 3], 8)];
  const out = nova.aggregateTrain(0, global, uneven, [])!;
  close(out['w']!.data, [1, 1]);
  close(out['amp']!.data, [2, 2]); // non-trained state is averaged
  // With momentum the effective steps shrink: a_i = [tau - rho(1-rho^tau)/(1-rho)]/(1-rho).
  const rho = 0.9;
  const eff = (tau: number): number => (tau - (rho * (1 - rho ** tau)) / (1 - rho)) / (1 - rho);
  const withMomentum = strategyNamed('fednova')
    .server(setup({ clientMomentum: rho }))
    .aggregateTrain(0, global, uneven, [])!;
  const tauEff = 0.5 * eff(2) + 0.5 * eff(8);
  close(
    withMomentum['w']!.data,
    [1 - tauEff * ((0.5 * 1) / eff(2) + (0.5 * -4) / eff(8))].flatMap((v) => [v, v]),
  );
});

test('FedAdam takes an adaptive server step on the averaged change and keeps its moments across a checkpoint', async () => {
  const adam = strategyNamed('fedadam').server(setup());
  const replies = [reply('a', [3, 1], [1, 1], 4), reply('b', [3, 1], [3, 3], 4)];
  const first = adam.aggregateTrain(0, global, replies, [])!;
  // delta = [2, 0]: m = 0.2, v = 0.04 -> step 0.1 * 0.2 / (0.2 + 1e-3); zero change stays put.
  close(first['w']!.data, [1 + (0.1 * 0.2) / (0.2 + 1e-3), 1]);
  close(first['amp']!.data, [2, 2]);
  const file = path.join(await tempDir('harmofl-ckpt-'), 'c.hflc');
  await writeCheckpoint(file, {
    header: { format: 'harmofl-checkpoint', version: 2, round: 0, best: null, config: {}, task: 'classification', sites: ['a', 'b'] },
    global: first,
    server: adam.getState(),
  });
  const restored = strategyNamed('fedadam').server(setup());
  restored.setState((await readCheckpoint(file)).server);
  close(restored.aggregateTrain(1, first, replies, [])!['w']!.data, Array.from(adam.aggregateTrain(1, first, replies, [])!['w']!.data));
});

test("weighting by samples uses the replies' sample counts; too few replies or refused failures keep the global model", () => {
  const fedavg = strategyNamed('fedavg');
  const replies = [reply('a', [0, 0], [0, 0], 1, 30), reply('b', [4, 4], [4, 4], 1, 10)];
  close(fedavg.server(setup({ weighting: 'samples' })).aggregateTrain(0, global, replies, [])!['w']!.data, [1, 1]);
  close(fedavg.server(setup()).aggregateTrain(0, global, replies, [])!['w']!.data, [2, 2]);
  const failure = { site: 'c', kind: 'timeout' as const, reason: 'no reply within 5 s' };
  assert.equal(fedavg.server(setup({ minFitClients: 3 })).aggregateTrain(0, global, replies, [failure]), undefined, 'below minFitClients');
  assert.equal(
    fedavg.server(setup({ acceptFailures: false })).aggregateTrain(0, global, replies, [failure]),
    undefined,
    'failures refused',
  );
  assert.ok(
    fedavg.server(setup({ minFitClients: 2 })).aggregateTrain(0, global, replies, [failure]) !== undefined,
    'enough replies, failures accepted',
  );
});

test('every strategy is one definition with a unique name, and options it declares resolve with their defaults and bounds', async () => {
  const { resolveOptions } = await import('../../src/fl/strategies/index.js');
  assert.equal(new Set(STRATEGIES.map((s) => s.name)).size, STRATEGIES.length);
  assert.deepEqual(resolveOptions(strategyNamed('harmofl'), {}), { alpha: 0.05 });
  assert.deepEqual(resolveOptions(strategyNamed('fedprox'), { mu: 0.5, alpha: 9 }), { mu: 0.5 }, 'only declared options');
  assert.throws(() => resolveOptions(strategyNamed('moon'), { moonTau: 0 }), /--moon-tau takes a number > 0, got 0/);
  assert.throws(() => strategyNamed('fedfoo'), /unknown strategy "fedfoo"; choose one of fedavg, /);
});

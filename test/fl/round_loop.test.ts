import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NamedArrays } from '../../src/engine/named_arrays.js';
import type { Grid, RoundTrip, SiteInstruction } from '../../src/fl/grid.js';
import { PROTOCOL_VERSION, type Instruction, type ReplyTo } from '../../src/fl/messages.js';
import { runFederation, type FederationEvent, type RoundEvent } from '../../src/fl/round_loop.js';
import { runSpecOf } from '../../src/fl/run_spec.js';
import { strategyNamed } from '../../src/fl/strategies/index.js';

const arr = (v: number): NamedArrays => ({ w: { shape: [2], data: Float32Array.from([v, v]) } });

/** A grid whose sites answer by rule: train replies move w to the site's value, evaluation reports it. */
class FakeGrid implements Grid {
  notes: number[] = [];
  constructor(private readonly behaviour: Record<string, (i: Instruction) => unknown>) {}
  async sites(): Promise<string[]> {
    return Object.keys(this.behaviour);
  }
  async send<I extends Instruction>(messages: ReadonlyArray<SiteInstruction<I>>): Promise<RoundTrip<I>> {
    const trip: RoundTrip<I> = { replies: [], failures: [] };
    for (const { site, instruction } of messages) {
      try {
        trip.replies.push(this.behaviour[site]!(instruction) as ReplyTo<I>);
      } catch (e) {
        trip.failures.push({ site, kind: 'timeout', reason: (e as Error).message });
      }
    }
    return trip;
  }
  async note(n: { round: number }): Promise<void> {
    this.notes.push(n.round);
  }
}

const honest = (site: string, value: number) => (i: Instruction) =>
  i.kind === 'train'
    ? {
        kind: 'train-reply',
        version: PROTOCOL_VERSION,
        round: i.round,
        site,
        arrays: arr(value),
        samples: 4,
        metrics: { trainLoss: 0.1, steps: 1 },
      }
    : {
        kind: 'evaluate-reply',
        version: PROTOCOL_VERSION,
        round: i.round,
        site,
        metrics: { val: i.arrays['w']!.data[0]!, test: value },
        samples: { val: 2, test: 2 },
      };

const spec = {
  strategy: 'fedavg',
  options: {},
  model: {
    config: { kind: 'unet' as const, inputShape: [3, 16, 16] as [number, number, number], initFeatures: 2, outChannels: 2 },
    amp: { L: 0, momentum: 0 },
  },
  optimizer: { kind: 'sgd' as const, lr: 0.1, momentum: 0, weightDecay: 0 },
  epochs: 1,
  batch: 2,
  augment: false,
};

async function rounds(grid: Grid, minFitClients: number, n = 2): Promise<RoundEvent[]> {
  const strategy = strategyNamed('fedavg').server({
    options: {},
    trainable: new Set(['w']),
    clientMomentum: 0,
    weighting: 'uniform',
    minFitClients,
    acceptFailures: true,
  });
  const events: FederationEvent[] = [];
  for await (const e of runFederation({ strategy, grid, spec, rounds: n, seed: 5, initial: arr(0) })) events.push(e);
  return events.filter((e): e is RoundEvent => e.type === 'round');
}

test('every site gets the run spec and its own seed; replies are averaged; the best round is announced', async () => {
  const seen: Instruction[] = [];
  const grid = new FakeGrid({ a: (i) => (seen.push(i), honest('a', 2)(i)), b: honest('b', 4) });
  const [r0, r1] = await rounds(grid, 2);
  assert.equal(runSpecOf(seen[0]!.config, 'test').strategy, 'fedavg');
  assert.equal(seen[0]!.config['seed'], 5 * 1_000_003 + 0 * 1009 + 0);
  assert.equal(seen[2]!.config['seed'], 5 * 1_000_003 + 1 * 1009 + 0);
  assert.deepEqual(Array.from(r0!.global['w']!.data), [3, 3]);
  assert.equal(r0!.report.meanVal, 3, 'evaluated on the new global model');
  assert.equal(r0!.report.failures, undefined);
  assert.deepEqual(grid.notes, [0], 'round 1 did not beat round 0');
  assert.equal(r1!.report.isBest, false);
});

test('a failed site, a reply to another round and a NaN update become failures; the round aggregates the rest', async () => {
  const grid = new FakeGrid({
    a: honest('a', 2),
    b: (i) => {
      if (i.kind === 'train') throw new Error('no reply within 1 s');
      return honest('b', 4)(i);
    },
    c: (i) => (i.kind === 'train' ? { ...(honest('c', 9)(i) as object), round: i.round + 7 } : honest('c', 6)(i)),
    d: (i) => (i.kind === 'train' ? { ...(honest('d', 1)(i) as object), arrays: arr(Number.NaN) } : honest('d', 8)(i)),
  });
  const [r0] = await rounds(grid, 1, 1);
  const failures = r0!.report.failures!;
  assert.deepEqual(
    failures.map((f) => [f.site, f.kind]),
    [
      ['b', 'timeout'],
      ['c', 'rejected'],
      ['d', 'rejected'],
    ],
  );
  assert.match(failures[1]!.reason, /it answers round 7, this is round 0/);
  assert.match(failures[2]!.reason, /entry w holds NaN at index 0/);
  assert.deepEqual(Array.from(r0!.global['w']!.data), [2, 2], 'only a was averaged');
  assert.ok(Number.isNaN(r0!.report.sites['b']!.trainLoss) && r0!.report.sites['b']!.test === 4, 'b still evaluated');
});

test('with fewer replies than minFitClients the round keeps the global model and says so', async () => {
  const grid = new FakeGrid({
    a: honest('a', 2),
    b: (i) =>
      i.kind === 'train'
        ? (() => {
            throw new Error('gone');
          })()
        : honest('b', 4)(i),
  });
  const [r0] = await rounds(grid, 2, 1);
  assert.equal(r0!.report.skipped, true);
  assert.deepEqual(Array.from(r0!.global['w']!.data), [0, 0]);
});

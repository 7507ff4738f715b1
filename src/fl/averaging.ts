import type { NamedArrays } from '../engine/named_arrays.js';
import type { Failure } from './grid.js';
import { PROTOCOL_VERSION, type EvaluateReply, type TrainReply } from './messages.js';
import type { Evaluation, ServerSetup, ServerStrategy, SiteConfig } from './strategy.js';

/** Weighted mean of every state entry of the replies (weights sum to 1), the server step of FedAvg. */
export function weightedAverage(replies: readonly TrainReply[], weights: readonly number[]): NamedArrays {
  const first = replies[0];
  if (first === undefined) throw new Error('no client updates to aggregate');
  const out: NamedArrays = {};
  for (const [name, entry] of Object.entries(first.arrays)) {
    const data = new Float32Array(entry.data.length);
    replies.forEach((r, i) => {
      const src = r.arrays[name];
      if (src === undefined) throw new Error(`client ${r.site} sent no ${name}`);
      const w = weights[i]!;
      for (let k = 0; k < data.length; k++) data[k] += w * src.data[k]!;
    });
    out[name] = { shape: entry.shape.slice(), data };
  }
  return out;
}

/** Client weights over the sites that replied: 1/N, or by sample counts. */
export function clientWeights(replies: readonly TrainReply[], weighting: ServerSetup['weighting']): number[] {
  if (weighting === 'uniform') return replies.map(() => 1 / replies.length);
  const total = replies.reduce((a, r) => a + r.samples, 0);
  return replies.map((r) => r.samples / total);
}

/** Whether a round's train replies may be aggregated under the setup's failure policy. */
export function canAggregate(setup: ServerSetup, replies: readonly TrainReply[], failures: readonly Failure[]): boolean {
  return replies.length > 0 && replies.length >= setup.minFitClients && (failures.length === 0 || setup.acceptFailures);
}

/** Per-site metrics of the evaluate replies. */
export function collectEvaluation(replies: readonly EvaluateReply[]): Evaluation {
  return { perSite: Object.fromEntries(replies.map((r) => [r.site, { ...r.metrics }])) };
}

/** How an averaging strategy turns the weighted replies into the next global state. */
export type Aggregator = (round: number, global: NamedArrays, replies: readonly TrainReply[], weights: readonly number[]) => NamedArrays;

/**
 * A FedAvg-shaped server strategy: every site gets the global model, the replies that arrive are
 * weighted and combined by `aggregate` (plain weighted mean by default), every site evaluates.
 * `state` carries the server state of strategies that have one (FedAdam).
 */
export function averagingServer(
  name: string,
  setup: ServerSetup,
  aggregate: Aggregator = (_round, _global, replies, weights) => weightedAverage(replies, weights),
  state: Pick<ServerStrategy, 'getState' | 'setState'> = { getState: () => ({}), setState: () => undefined },
): ServerStrategy {
  const instruct = <K extends 'train' | 'evaluate'>(kind: K, round: number, global: NamedArrays, sites: readonly SiteConfig[]) =>
    sites.map((s) => ({ site: s.site, instruction: { kind, version: PROTOCOL_VERSION, round, arrays: global, config: s.config } }));
  return {
    name,
    configureTrain: (round, global, sites) => instruct('train', round, global, sites),
    aggregateTrain: (round, global, replies, failures) =>
      canAggregate(setup, replies, failures) ? aggregate(round, global, replies, clientWeights(replies, setup.weighting)) : undefined,
    configureEvaluate: (round, global, sites) => instruct('evaluate', round, global, sites),
    aggregateEvaluate: (_round, replies) => collectEvaluation(replies),
    getState: () => state.getState(),
    setState: (s) => state.setState(s),
  };
}

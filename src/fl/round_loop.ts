import type { NamedArrays } from '../engine/named_arrays.js';
import type { Failure, Grid, RoundTrip, SendOptions, SiteInstruction } from './grid.js';
import { checkUpdateMatches, MessageError, validateReply, type Instruction, type TrainInstruction, type TrainReply } from './messages.js';
import { CONFIG_KEYS, encodeRunSpec, type RunSpec } from './run_spec.js';
import type { ServerStrategy, SiteConfig } from './strategy.js';

/** One site's numbers in a round (NaN where the site failed that part). */
export interface SiteRound {
  trainLoss: number;
  val: number;
  test: number;
}

/** What a round produced. */
export interface RoundReport {
  round: number;
  sites: Record<string, SiteRound>;
  meanVal: number;
  meanTest: number;
  seconds: number;
  isBest: boolean;
  /** Sites that failed a part of the round (absent when none did). */
  failures?: Failure[];
  /** True when too few sites trained and the global model was kept (absent otherwise). */
  skipped?: boolean;
}

/** Where a resumed run starts: the server state after its last finished round. */
export interface ResumePoint {
  round: number;
  global: NamedArrays;
  serverState: NamedArrays;
  best: RoundReport | undefined;
}

/** A federated run as the round loop sees it: strategy, grid, what clients are told, and where it starts. */
export interface FederationPlan {
  strategy: ServerStrategy;
  grid: Grid;
  spec: RunSpec;
  rounds: number;
  seed: number;
  initial: NamedArrays;
  /** Per-round deadline for each round trip (none: wait for every site). */
  roundTimeoutMs?: number;
  resume?: ResumePoint;
}

/** Progress within a round, as replies arrive. */
export interface ProgressEvent {
  type: 'progress';
  round: number;
  phase: 'train' | 'evaluate';
  done: number;
  total: number;
}

/** A finished round: its report and the server state after it (what persistence saves). */
export interface RoundEvent {
  type: 'round';
  report: RoundReport;
  global: NamedArrays;
  serverState: NamedArrays;
  best: RoundReport;
}

export type FederationEvent = ProgressEvent | RoundEvent;

/** How the run ended: the best round and the final global state. */
export interface FederationResult {
  best: RoundReport;
  global: NamedArrays;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per-site seed of a round: every client's randomness derives from (seed, round, site), so runs resume exactly. */
export function siteSeed(seed: number, round: number, index: number): number {
  return seed * 1_000_003 + round * 1009 + index;
}

/** Runs one round trip while yielding progress events as sites settle. */
async function* roundTrip<I extends Instruction>(
  grid: Grid,
  messages: Array<SiteInstruction<I>>,
  round: number,
  phase: ProgressEvent['phase'],
  options: SendOptions,
): AsyncGenerator<ProgressEvent, RoundTrip<I>> {
  const pending: ProgressEvent[] = [{ type: 'progress', round, phase, done: 0, total: messages.length }];
  let wake: (() => void) | undefined;
  const sent = grid.send(messages, {
    ...options,
    onSettled: (_site, done, total) => (pending.push({ type: 'progress', round, phase, done, total }), wake?.()),
  });
  let result: RoundTrip<I> | undefined;
  let failed = false;
  void sent.then(
    (r) => ((result = r), wake?.()),
    () => ((failed = true), wake?.()),
  );
  for (;;) {
    while (pending.length > 0) yield pending.shift()!;
    if (result !== undefined) return result;
    if (failed) return await sent;
    await new Promise<void>((r) => (wake = r));
  }
}

/** Train replies that fit the round and the global model; the rest become failures naming why. */
function screenReplies(
  round: number,
  global: NamedArrays,
  trip: RoundTrip<TrainInstruction>,
): { replies: TrainReply[]; failures: Failure[] } {
  const replies: TrainReply[] = [];
  const failures = [...trip.failures];
  for (const r of trip.replies) {
    try {
      const where = `train reply from ${r.site}`;
      validateReply(r, where);
      if (r.round !== round) throw new MessageError(`${where}: it answers round ${r.round}, this is round ${round}`);
      checkUpdateMatches(global, r.arrays, where);
      replies.push(r);
    } catch (e) {
      failures.push({ site: r.site, kind: 'rejected', reason: (e as Error).message });
    }
  }
  return { replies, failures };
}

/**
 * The federated round loop (after Flower's ServerApp): each round the strategy configures
 * training, the grid carries it to the sites, the strategy aggregates what came back (failures
 * included), then every site evaluates the new global model. Yields progress and one event per
 * round; writes nothing (persistence and the CLI subscribe to the events).
 */
export async function* runFederation(plan: FederationPlan): AsyncGenerator<FederationEvent, FederationResult> {
  const { strategy, grid, spec } = plan;
  let global = plan.resume?.global ?? plan.initial;
  let best = plan.resume?.best;
  if (plan.resume !== undefined) strategy.setState(plan.resume.serverState);
  const run = encodeRunSpec(spec);
  const options: SendOptions = plan.roundTimeoutMs === undefined ? {} : { timeoutMs: plan.roundTimeoutMs };
  for (let round = (plan.resume?.round ?? -1) + 1; round < plan.rounds; round++) {
    const started = performance.now();
    const sites = await grid.sites();
    const trainSites: SiteConfig[] = sites.map((site, i) => ({
      site,
      config: { [CONFIG_KEYS.run]: run, [CONFIG_KEYS.seed]: siteSeed(plan.seed, round, i) },
    }));
    const trained = screenReplies(
      round,
      global,
      yield* roundTrip(grid, strategy.configureTrain(round, global, trainSites), round, 'train', options),
    );
    const next = strategy.aggregateTrain(round, global, trained.replies, trained.failures);
    if (next !== undefined) global = next;
    const evalSites: SiteConfig[] = sites.map((site) => ({ site, config: { [CONFIG_KEYS.run]: run, [CONFIG_KEYS.splits]: 'val,test' } }));
    const evaluated = yield* roundTrip(grid, strategy.configureEvaluate(round, global, evalSites), round, 'evaluate', options);
    const evaluation = strategy.aggregateEvaluate(round, evaluated.replies, evaluated.failures);
    const perSite: Record<string, SiteRound> = {};
    for (const site of sites) {
      const t = trained.replies.find((r) => r.site === site);
      const e = evaluation.perSite[site];
      perSite[site] = { trainLoss: t?.metrics['trainLoss'] ?? Number.NaN, val: e?.['val'] ?? Number.NaN, test: e?.['test'] ?? Number.NaN };
    }
    const answered = sites.filter((s) => evaluation.perSite[s] !== undefined);
    const meanVal = mean(answered.map((s) => perSite[s]!.val));
    const failures = [...trained.failures, ...evaluated.failures];
    const report: RoundReport = {
      round,
      sites: perSite,
      meanVal,
      meanTest: mean(answered.map((s) => perSite[s]!.test)),
      seconds: (performance.now() - started) / 1000,
      isBest: Number.isFinite(meanVal) && (best === undefined || meanVal > best.meanVal),
      ...(failures.length > 0 ? { failures } : {}),
      ...(next === undefined ? { skipped: true } : {}),
    };
    if (report.isBest) {
      best = report;
      await grid.note({ kind: 'best-round', round });
    }
    if (best === undefined)
      throw new Error(`round ${round + 1}: no site evaluated the model (${failures.map((f) => `${f.site}: ${f.reason}`).join('; ')})`);
    yield { type: 'round', report, global, serverState: strategy.getState(), best };
  }
  if (best === undefined) throw new Error('no round ran (rounds must be at least 1)');
  return { best, global };
}

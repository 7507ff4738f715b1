import type { NamedArrays } from '../engine/named_arrays.js';

/** What the server asks of every client in a round. */
export interface ClientInstructions {
  /** Weight perturbation radius (0: plain base optimizer). */
  alpha: number;
  /** FedProx proximal coefficient (0: none). */
  proximalMu: number;
  /** AmpNorm stops updating its running amplitude (HarmoFL: after the first aggregation). */
  freezeAmpNorm: boolean;
  /** MOON's model-contrastive term: weight `mu`, temperature `tau`. */
  moon?: { mu: number; tau: number };
}

/** What a client sends back after local training. */
export interface ClientUpdate {
  site: string;
  state: NamedArrays;
  samples: number;
  steps: number;
  trainLoss: number;
}

/**
 * A federated strategy as a small typed contract (after Flower): configure a round for the
 * clients, then aggregate what they return into the next global state.
 */
export interface Strategy {
  readonly name: string;
  configureRound(round: number): ClientInstructions;
  aggregate(round: number, global: NamedArrays, updates: ClientUpdate[], weights: number[]): NamedArrays;
  /** Entries each client keeps for itself instead of taking the server's (FedBN's normalization layers). */
  readonly localEntries?: ReadonlySet<string>;
  /** Server-side state that must survive a resume (FedAdam's moments); absent when there is none. */
  getState?(): NamedArrays;
  setState?(state: NamedArrays): void;
}

/** `a - b` entry by entry for the named entries of `a`. */
export function difference(a: NamedArrays, b: NamedArrays): NamedArrays {
  const out: NamedArrays = {};
  for (const [name, x] of Object.entries(a)) out[name] = { shape: x.shape.slice(), data: Float32Array.from(x.data, (v, i) => v - b[name]!.data[i]!) };
  return out;
}

/** Weighted mean of every state entry (weights sum to 1), the server step of FedAvg. */
export function weightedAverage(updates: ClientUpdate[], weights: number[]): NamedArrays {
  const first = updates[0];
  if (first === undefined) throw new Error('no client updates to aggregate');
  const out: NamedArrays = {};
  for (const [name, entry] of Object.entries(first.state)) {
    const data = new Float32Array(entry.data.length);
    updates.forEach((u, i) => {
      const src = u.state[name];
      if (src === undefined) throw new Error(`client ${u.site} sent no ${name}`);
      const w = weights[i]!;
      for (let k = 0; k < data.length; k++) data[k] += w * src.data[k]!;
    });
    out[name] = { shape: entry.shape.slice(), data };
  }
  return out;
}

import type { NamedArrays } from '../engine/named_arrays.js';
import { weightedAverage, type ClientInstructions, type ClientUpdate, type Strategy } from './strategy.js';

/** Strategy names `harmofl train --strategy` accepts in this release. */
export const STRATEGY_NAMES = ['fedavg', 'fedprox', 'fednova', 'fedadam', 'fedbn', 'moon', 'harmofl', 'amp-only', 'wp-only'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Hyper-parameters a strategy may use. */
export interface StrategyOptions {
  alpha: number;
  mu: number;
  /** Names of the trained entries (FedNova and FedAdam move these; other state is averaged). */
  trainable: ReadonlySet<string>;
  /** Names of the normalization layers' entries (FedBN keeps them local). */
  normalization: ReadonlySet<string>;
  /** Clients' SGD momentum (FedNova's effective step count depends on it; 0 for Adam). */
  clientMomentum: number;
  /** FedAdam server learning rate, and its adaptivity eps (Reddi et al. 2021). */
  serverLr: number;
  serverEps: number;
  /** MOON's contrastive weight and temperature. */
  moonMu: number;
  moonTau: number;
}

/** Averaging strategies that differ only in what clients are told to do. */
function averaging(name: StrategyName, instructions: (round: number) => ClientInstructions): Strategy {
  return { name, configureRound: instructions, aggregate: (_round, _global, updates, weights) => weightedAverage(updates, weights) };
}

/**
 * Builds a strategy. HarmoFL = AmpNorm (frozen after the first aggregation) + weight perturbation;
 * `amp-only` and `wp-only` are its ablations; FedProx adds a proximal term to plain FedAvg.
 */
export function createStrategy(name: StrategyName, o: StrategyOptions): Strategy {
  switch (name) {
    case 'fedavg':
      return averaging(name, () => ({ alpha: 0, proximalMu: 0, freezeAmpNorm: true }));
    case 'fedprox':
      return averaging(name, () => ({ alpha: 0, proximalMu: o.mu, freezeAmpNorm: true }));
    case 'fednova':
      return fedNova(o);
    case 'moon':
      return averaging(name, () => ({ ...PLAIN, moon: { mu: o.moonMu, tau: o.moonTau } }));
    case 'fedbn':
      // FedBN (Li et al. 2021): every client keeps its own BatchNorm parameters and statistics.
      return { ...averaging(name, () => PLAIN), localEntries: o.normalization };
    case 'fedadam':
      return new FedAdam(o);
    case 'harmofl':
      return averaging(name, (round) => ({ alpha: o.alpha, proximalMu: 0, freezeAmpNorm: round > 0 }));
    case 'amp-only':
      return averaging(name, (round) => ({ alpha: 0, proximalMu: 0, freezeAmpNorm: round > 0 }));
    case 'wp-only':
      return averaging(name, () => ({ alpha: o.alpha, proximalMu: 0, freezeAmpNorm: true }));
  }
}

/** Size of the projection head a strategy's model needs (MOON), or undefined. */
export function projectionDimFor(name: StrategyName): number | undefined {
  return name === 'moon' ? 256 : undefined;
}

/** Whether a strategy needs BatchNorm with affine parameters and running statistics (the reference's has neither). */
export function usesAffineBatchNorm(name: StrategyName): boolean {
  return name === 'fedbn';
}

/** Whether a strategy's model normalizes amplitudes (otherwise AmpNorm is an identity that never learns an amplitude). */
export function usesAmpNorm(name: StrategyName): boolean {
  return name === 'harmofl' || name === 'amp-only';
}

const PLAIN: ClientInstructions = { alpha: 0, proximalMu: 0, freezeAmpNorm: true };

/**
 * FedNova (Wang et al. 2020): each client's update is divided by its effective number of local
 * steps a_i (with SGD momentum rho: [tau - rho(1 - rho^tau)/(1 - rho)] / (1 - rho)), averaged, and
 * scaled by the mean effective steps, so clients that ran more steps do not pull harder.
 */
function fedNova(o: StrategyOptions): Strategy {
  const rho = o.clientMomentum;
  const effective = (tau: number): number => (rho === 0 ? tau : (tau - (rho * (1 - rho ** tau)) / (1 - rho)) / (1 - rho));
  return {
    name: 'fednova',
    configureRound: () => PLAIN,
    aggregate: (_round, global, updates: ClientUpdate[], weights) => {
      const averaged = weightedAverage(updates, weights);
      const a = updates.map((u) => Math.max(effective(u.steps), 1e-12));
      const tauEff = a.reduce((s, ai, i) => s + weights[i]! * ai, 0);
      const out: NamedArrays = { ...averaged };
      for (const name of o.trainable) {
        const g = global[name]!;
        const data = Float32Array.from(g.data);
        updates.forEach((u, i) => {
          const scale = (tauEff * weights[i]!) / a[i]!;
          const w = u.state[name]!.data;
          for (let k = 0; k < data.length; k++) data[k] -= scale * (g.data[k]! - w[k]!);
        });
        out[name] = { shape: g.shape.slice(), data };
      }
      return out;
    },
  };
}

/**
 * FedAdam (Reddi et al. 2021): the averaged client change is a pseudo-gradient for a server Adam
 * (no bias correction, eps `serverEps`); its moments persist across rounds and resumes.
 */
class FedAdam implements Strategy {
  readonly name = 'fedadam';
  private m: NamedArrays = {};
  private v: NamedArrays = {};

  constructor(private readonly o: StrategyOptions) {}

  configureRound(): ClientInstructions {
    return PLAIN;
  }

  aggregate(_round: number, global: NamedArrays, updates: ClientUpdate[], weights: number[]): NamedArrays {
    const averaged = weightedAverage(updates, weights);
    const out: NamedArrays = { ...averaged };
    const [b1, b2] = [0.9, 0.99];
    for (const name of this.o.trainable) {
      const g = global[name]!;
      const avg = averaged[name]!.data;
      const m = this.m[name]?.data ?? new Float32Array(g.data.length);
      const v = this.v[name]?.data ?? new Float32Array(g.data.length);
      const data = Float32Array.from(g.data);
      for (let k = 0; k < data.length; k++) {
        const delta = avg[k]! - g.data[k]!;
        m[k] = b1 * m[k]! + (1 - b1) * delta;
        v[k] = b2 * v[k]! + (1 - b2) * delta * delta;
        data[k] = g.data[k]! + (this.o.serverLr * m[k]!) / (Math.sqrt(v[k]!) + this.o.serverEps);
      }
      this.m[name] = { shape: g.shape.slice(), data: m };
      this.v[name] = { shape: g.shape.slice(), data: v };
      out[name] = { shape: g.shape.slice(), data };
    }
    return out;
  }

  getState(): NamedArrays {
    const out: NamedArrays = {};
    for (const [k, a] of Object.entries(this.m)) out[`m/${k}`] = a;
    for (const [k, a] of Object.entries(this.v)) out[`v/${k}`] = a;
    return out;
  }

  setState(state: NamedArrays): void {
    this.m = {};
    this.v = {};
    for (const [k, a] of Object.entries(state)) (k.startsWith('m/') ? this.m : this.v)[k.slice(2)] = a;
  }
}

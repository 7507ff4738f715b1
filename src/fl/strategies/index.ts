import type { StrategyDefinition, StrategyOption, StrategyOptions } from '../strategy.js';
import { fedadam } from './fedadam.js';
import { fedavg } from './fedavg.js';
import { fedbn } from './fedbn.js';
import { fednova } from './fednova.js';
import { fedprox } from './fedprox.js';
import { ampOnly, harmofl, wpOnly } from './harmofl.js';
import { moon } from './moon.js';

/** Every strategy harmofl knows; adding one is its file and one line here. */
export const STRATEGIES: readonly StrategyDefinition[] = [fedavg, fedprox, fednova, fedadam, fedbn, moon, harmofl, ampOnly, wpOnly];

/** Their names, in that order. */
export const STRATEGY_NAMES: readonly string[] = STRATEGIES.map((s) => s.name);

/** The strategy called `name`, or an error listing the known ones. */
export function strategyNamed(name: string): StrategyDefinition {
  const s = STRATEGIES.find((d) => d.name === name);
  if (s === undefined) throw new Error(`unknown strategy ${JSON.stringify(name)}; choose one of ${STRATEGY_NAMES.join(', ')}`);
  return s;
}

/** Every strategy option once (strategies may share one, as HarmoFL and wp-only share alpha). */
export function allStrategyOptions(): StrategyOption[] {
  const byKey = new Map<string, StrategyOption>();
  for (const s of STRATEGIES) for (const o of s.options) byKey.set(o.key, o);
  return [...byKey.values()];
}

/** `given` values for the options `strategy` declares, defaults for the rest, checked against their bounds. */
export function resolveOptions(strategy: StrategyDefinition, given: Readonly<Record<string, number | undefined>>): StrategyOptions {
  const out: Record<string, number> = {};
  for (const o of strategy.options) {
    const v = given[o.key] ?? o.default;
    if (!Number.isFinite(v) || (o.min === 'zero' ? v < 0 : v <= 0))
      throw new Error(`${o.flag.split(' ')[0]} takes a number ${o.min === 'zero' ? '>= 0' : '> 0'}, got ${v}`);
    out[o.key] = v;
  }
  return out;
}

import type { NamedArrays } from '../engine/named_arrays.js';

/**
 * What a site keeps for itself between rounds and never sends: optimizer state, FedBN's own
 * normalization entries, MOON's previous model, HarmoFL's frozen flag. Arrays are namespaced by
 * prefix (`optimizer/`, `local/`, `previous/`, `best/`); `round` is the last round whose fit made it.
 */
export interface ClientContext {
  site: string;
  round: number;
  arrays: NamedArrays;
  values: Readonly<Record<string, number | string | boolean>>;
}

/** A site's context before its first round. */
export function emptyContext(site: string): ClientContext {
  return { site, round: -1, arrays: {}, values: {} };
}

/** The context's arrays under `prefix`, with the prefix removed. */
export function entriesUnder(context: ClientContext, prefix: string): NamedArrays {
  const out: NamedArrays = {};
  for (const [name, a] of Object.entries(context.arrays)) if (name.startsWith(`${prefix}/`)) out[name.slice(prefix.length + 1)] = a;
  return out;
}

/** `arrays` with everything under `prefix` replaced by `entries`. */
export function replaceEntries(arrays: NamedArrays, prefix: string, entries: NamedArrays): NamedArrays {
  const out: NamedArrays = Object.fromEntries(Object.entries(arrays).filter(([name]) => !name.startsWith(`${prefix}/`)));
  for (const [name, a] of Object.entries(entries)) out[`${prefix}/${name}`] = a;
  return out;
}

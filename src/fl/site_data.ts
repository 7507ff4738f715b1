import { loadFederation, type FederationFormat } from '../data/federation.js';
import type { Federation, SiteData } from '../data/manifest.js';

/** Where a worker or a hospital client finds its federation on disk. */
export interface DataRef {
  dir: string;
  format: FederationFormat;
  imbalance: boolean;
  seed: number;
  resize?: [number, number];
}

const federations = new Map<string, Promise<Federation>>();

/** The federation of `ref`, loaded once per process or thread. */
export function federationOf(ref: DataRef): Promise<Federation> {
  const key = JSON.stringify(ref);
  let fed = federations.get(key);
  if (fed === undefined) {
    fed = loadFederation(ref.dir, {
      format: ref.format,
      imbalance: ref.imbalance,
      seed: ref.seed,
      ...(ref.resize ? { resize: ref.resize } : {}),
    });
    federations.set(key, fed);
  }
  return fed;
}

/** One site of a loaded federation, or an error listing the sites there are. */
export function siteOf(fed: Federation, site: string, where: string): SiteData {
  const data = fed.sites.find((s) => s.name === site);
  if (data === undefined) throw new Error(`site ${site} is not in ${where} (sites: ${fed.sites.map((s) => s.name).join(', ')})`);
  return data;
}

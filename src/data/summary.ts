import type { Federation } from './manifest.js';
import { SPLITS } from './sample.js';

/** One site's summary: rows per split, image size, training class balance. */
export interface SiteSummary {
  site: string;
  counts: Record<string, number>;
  imageSize: string;
  classBalance: string;
}

/** Summarizes a federation, decoding one image per site (for its size) and nothing else. */
export async function summarizeFederation(fed: Federation): Promise<SiteSummary[]> {
  return Promise.all(
    fed.sites.map(async (site) => {
      const counts = Object.fromEntries(SPLITS.map((s) => [s, site[s].size]));
      const first = await site.train.get(0);
      const imageSize = `${first.image.width}x${first.image.height}x${first.image.channels}`;
      let classBalance = 'per-pixel (masks)';
      if (fed.task === 'classification') {
        const perClass = new Array<number>(fed.numClasses).fill(0);
        for (let i = 0; i < site.train.size; i++) perClass[site.train.labelOf(i)!]! += 1;
        classBalance = perClass.map((n, c) => `${c}: ${((100 * n) / site.train.size).toFixed(0)}%`).join(', ');
      }
      return { site: site.name, counts, imageSize, classBalance };
    }),
  );
}

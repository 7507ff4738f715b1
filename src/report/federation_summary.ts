import type { Federation } from '../data/manifest.js';
import type { SiteSummary } from '../data/summary.js';
import { formatTable } from './table.js';

/** The summary as a table. */
export function summaryTable(fed: Federation, rows: SiteSummary[]): string {
  const table = formatTable(
    ['site', 'train', 'val', 'test', 'image (WxHxC)', 'train classes'],
    rows.map((r) => [r.site, String(r.counts['train']), String(r.counts['val']), String(r.counts['test']), r.imageSize, r.classBalance]),
  );
  return `${fed.task}, ${fed.numClasses} classes, ${fed.sites.length} sites\n${table}`;
}

import type { Command } from 'commander';
import { loadManifestFederation } from '../data/manifest.js';
import { summarizeFederation, summaryTable } from '../data/summary.js';

/** `harmofl data inspect <dir>`: per-site summary of a federation on disk. */
export function registerData(program: Command): void {
  const data = program.command('data').description('inspect federations on disk');
  data
    .command('inspect <dir>')
    .description('per-site rows per split, image size and class balance of a manifest federation (manifest.csv)')
    .option('--imbalance', 'show full training sets instead of the balanced cut')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { imbalance?: boolean; json?: boolean }) => {
      const fed = await loadManifestFederation(dir, { imbalance: opts.imbalance === true });
      const rows = await summarizeFederation(fed);
      process.stdout.write(opts.json ? `${JSON.stringify({ task: fed.task, numClasses: fed.numClasses, sites: rows })}\n` : `${summaryTable(fed, rows)}\n`);
    });
}

import type { Command } from 'commander';
import { loadFederation } from '../data/federation.js';
import { summarizeFederation } from '../data/summary.js';
import { summaryTable } from '../report/federation_summary.js';

/** `harmofl data inspect <dir>`: per-site summary of a federation on disk. */
export function registerData(program: Command): void {
  const data = program.command('data').description('inspect federations on disk');
  data
    .command('inspect <dir>')
    .description(
      'per-site rows per split, image size and class balance of a federation (manifest.csv, Camelyon17-WILDS metadata.csv, or prostate site folders)',
    )
    .option('--imbalance', 'show full training sets instead of the balanced cut')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { imbalance?: boolean; json?: boolean }) => {
      const started = performance.now();
      const fed = await loadFederation(dir, { imbalance: opts.imbalance === true });
      const rows = await summarizeFederation(fed);
      process.stderr.write(`loaded ${dir} in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
      process.stdout.write(
        opts.json ? `${JSON.stringify({ task: fed.task, numClasses: fed.numClasses, sites: rows })}\n` : `${summaryTable(fed, rows)}\n`,
      );
    });
}

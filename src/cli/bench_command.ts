import type { Command } from 'commander';
import { BENCH_CONFIGS } from '../bench/configs.js';
import { benchRow, type BenchRow } from '../bench/bench.js';
import { formatTable } from '../report/table.js';
import { addBackendOption, parseList, parsePositiveInt } from './options.js';
import type { BackendChoice } from '../engine/backend.js';

interface BenchOptions {
  json?: boolean;
  configs?: string[];
  workers: number[];
  backend: BackendChoice;
}

/** `harmofl bench`: images per second of a full HarmoFL training step per model configuration. */
export function registerBench(program: Command): void {
  addBackendOption(
    program
      .command('bench')
      .description(
        'training-step throughput (2 forward + 2 backward passes + SGD) per model, 1 and 2 workers; predict-* rows time inference (one forward pass, batch statistics)',
      )
      .option('--json', 'print one JSON object {"rows": [...]} instead of the table')
      .option('--configs <names>', `comma-separated subset of: ${BENCH_CONFIGS.map((c) => c.name).join(', ')}`, parseList)
      .option(
        '--workers <counts>',
        'comma-separated worker counts',
        (v: string) => parseList(v).map((w) => parsePositiveInt(w, '--workers')),
        [1, 2],
      ),
  ).action(async (opts: BenchOptions) => {
    const unknown = (opts.configs ?? []).filter((n) => !BENCH_CONFIGS.some((c) => c.name === n));
    if (unknown.length > 0)
      throw new Error(`unknown bench config ${unknown.join(', ')}; choose from ${BENCH_CONFIGS.map((c) => c.name).join(', ')}`);
    const configs = opts.configs === undefined ? BENCH_CONFIGS : BENCH_CONFIGS.filter((c) => opts.configs!.includes(c.name));
    const rows: BenchRow[] = [];
    for (const config of configs) {
      // The AmpNorm and prediction rows measure one process's speed; one worker is enough.
      const workerCounts = config.ampL > 0 || config.mode === 'predict' ? opts.workers.filter((w) => w === 1) : opts.workers;
      for (const workers of workerCounts) {
        process.stderr.write(`bench ${config.name} batch ${config.batch}, ${workers} worker(s)... `);
        const row = await benchRow(config, workers, opts.backend);
        process.stderr.write(`${row.imagesPerSecond.toPrecision(3)} img/s, peak RSS ${row.peakRssMiB.toFixed(0)} MiB\n`);
        rows.push(row);
      }
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ rows })}\n`);
      return;
    }
    process.stdout.write(`${benchTable(rows)}\n`);
  });
}

/** The human table: throughput, PyTorch reference, ratio, peak memory, and the AmpNorm overhead. */
function benchTable(rows: BenchRow[]): string {
  const table = formatTable(
    ['config', 'batch', 'workers', 'img/s', 'PyTorch img/s', 'ratio', 'peak RSS (MiB)', 'AmpNorm %'],
    rows.map((r) => [
      r.config,
      String(r.batch),
      String(r.workers),
      r.imagesPerSecond.toPrecision(3),
      r.torchImagesPerSecond?.toPrecision(3) ?? '-',
      r.ratioToTorch === undefined ? '-' : `${r.ratioToTorch.toFixed(2)}x`,
      r.peakRssMiB.toFixed(0),
      (r.ampNormShare * 100).toFixed(1),
    ]),
  );
  const amp = rows.find((r) => r.config === 'densenet121+ampnorm-L0.1');
  // AmpNorm's share is timed inside the run; comparing two rows' throughput would mostly measure noise.
  const overhead =
    amp === undefined
      ? ''
      : `\nAmpNorm L=0.1 (FFT path, EMA update every step) takes ${(amp.ampNormShare * 100).toFixed(1)}% of the densenet121 step, i.e. adds ${((amp.ampNormShare / (1 - amp.ampNormShare)) * 100).toFixed(1)}% to the step without it`;
  return `backend: ${rows[0]?.backend ?? '-'}\n${table}${overhead}`;
}

import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { BENCH_CONFIGS } from '../bench/configs.js';
import { benchRow, benchScaling, torchRequest, withTorch, type BenchRow, type ScalingRow } from '../bench/bench.js';
import { findTorchPython, runTorchBench, type TorchBenchResult, type TorchPython } from '../bench/torch_bench.js';
import { formatTable } from '../report/table.js';
import { hostCheck, measurePeak, type PeakInfo } from '../bench/peak.js';
import { addBackendOption, parseList, parsePositiveInt } from './options.js';
import type { BackendChoice } from '../engine/backend.js';

/** One row's use of the cores: clients side by side, and kernel threads per client. */
interface Layout {
  workers: number;
  threads: number;
}

interface BenchOptions {
  json?: boolean;
  configs?: string[];
  layouts?: Layout[];
  backend: BackendChoice;
  torch?: boolean;
}

/** `harmofl bench`: images per second of a full HarmoFL training step per model configuration. */
export function registerBench(program: Command): void {
  addBackendOption(
    program
      .command('bench')
      .description(
        'training-step throughput (2 forward + 2 backward passes + SGD) per model and layout of clients x kernel threads; predict-* rows time inference (one forward pass, batch statistics)',
      )
      .option('--json', 'print one JSON object {"rows": [...]} instead of the table')
      .option('--configs <names>', `comma-separated subset of: ${BENCH_CONFIGS.map((c) => c.name).join(', ')}`, parseList)
      .option(
        '--layouts <list>',
        'comma-separated WORKERSxTHREADS: clients side by side x kernel threads per client (default: 1x1, 1xCORES, CORESx1)',
        parseLayouts,
      )
      .option('--torch', 'also time the same step in PyTorch (scripts/torch_bench.py; needs a python3 that imports torch)'),
    // Threads are per row here (--layouts).
    false,
  ).action(async (opts: BenchOptions) => {
    const unknown = (opts.configs ?? []).filter((n) => !BENCH_CONFIGS.some((c) => c.name === n));
    if (unknown.length > 0)
      throw new Error(`unknown bench config ${unknown.join(', ')}; choose from ${BENCH_CONFIGS.map((c) => c.name).join(', ')}`);
    const configs = opts.configs === undefined ? BENCH_CONFIGS : BENCH_CONFIGS.filter((c) => opts.configs!.includes(c.name));
    // Measured first, while the machine is otherwise idle.
    const peak = measurePeak();
    const torch = opts.torch ? await torchPython() : undefined;
    // Rows on the same number of cores (2 workers, or 1 worker on 2 threads) compare with the same PyTorch run.
    const torchRuns = new Map<string, { figure: TorchBenchResult; host: number | undefined }>();
    const rows: BenchRow[] = [];
    const scaling: ScalingRow[] = [];
    const layouts = opts.layouts ?? defaultLayouts();
    for (const config of configs) {
      // The AmpNorm and prediction rows measure one client's speed; several clients side by side add nothing.
      const oneClientOnly = config.ampL > 0 || config.mode === 'predict';
      for (const { workers, threads } of oneClientOnly ? layouts.filter((l) => l.workers === 1) : layouts) {
        process.stderr.write(`bench ${config.name} batch ${config.batch}, ${workers} worker(s) x ${threads} thread(s)... `);
        const row = await benchRow(config, workers, opts.backend, threads);
        process.stderr.write(
          `${row.imagesPerSecond.toPrecision(3)} img/s, peak RSS ${row.peakRssMiB.toFixed(0)} MiB${hostNote(row.hostGflopsPerCore)}\n`,
        );
        if (torch === undefined) {
          rows.push(row);
          continue;
        }
        // Run after the row, never beside it: both sides get the same idle cores.
        const request = torchRequest(config, row);
        const key = `${config.name}/${request.threads}`;
        let run = torchRuns.get(key);
        if (run === undefined) {
          process.stderr.write(`  PyTorch ${torch.torch}, ${request.threads} thread(s)... `);
          const host = hostCheck(request.threads);
          run = { figure: await runTorchBench(torch.python, request), host };
          process.stderr.write(`${run.figure.imagesPerSecond.toPrecision(3)} img/s${hostNote(host)}\n`);
          torchRuns.set(key, run);
        }
        rows.push(withTorch(row, run.figure, run.host));
      }
      if (oneClientOnly) continue;
      // Each one-client row on several threads also gets its speed-up measured in pairs.
      for (const { threads } of layouts.filter((l) => l.workers === 1 && l.threads > 1)) {
        process.stderr.write(`scaling ${config.name}, one client, 1 and ${threads} thread(s) alternating... `);
        const s = await benchScaling(config, threads, opts.backend);
        process.stderr.write(`${s.speedup.toFixed(2)}x${hostNote(s.hostGflopsPerCore)}\n`);
        scaling.push(s);
      }
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ rows, scaling, peak, ...(torch !== undefined ? { torch: torch.torch } : {}) })}\n`);
      return;
    }
    process.stdout.write(`${benchTable(rows, torch)}\n${scalingTable(scaling)}${convTable(rows, peak)}\n`);
  });
}

/** One client's speed-up from 1 thread to several, measured in alternating pairs of steps; nothing when none was measured. */
function scalingTable(scaling: ScalingRow[]): string {
  if (scaling.length === 0) return '';
  const table = formatTable(
    ['config', 'batch', 'threads', 'pairs', '1-thread img/s', 'N-thread img/s', 'speed-up', 'pair range', 'host GFLOP/s/core'],
    scaling.map((s) => [
      s.config,
      String(s.batch),
      String(s.threads),
      String(s.pairs),
      s.oneThreadImagesPerSecond.toPrecision(3),
      s.threadsImagesPerSecond.toPrecision(3),
      `${s.speedup.toFixed(2)}x`,
      `${s.pairRange[0].toFixed(2)}-${s.pairRange[1].toFixed(2)}x`,
      s.hostGflopsPerCore?.toFixed(0) ?? '-',
    ]),
  );
  return `One client from 1 to N kernel threads: one process alternates a 1-thread step and an N-thread step, so both meet the same host\n${table}\n`;
}

/** Each row's convolution kernels in GFLOP/s per client (share of the step), and the per-core peak beside. */
function convTable(rows: BenchRow[], peak: PeakInfo): string {
  const kinds = ['conv', 'winograd', 'filterGrad', 'winogradFilterGrad'];
  const table = formatTable(
    ['config', 'workers x threads', ...kinds.map((k) => `${k} GFLOP/s`)],
    rows.map((r) => [
      r.config,
      `${r.workers} x ${r.threads}`,
      ...kinds.map((k) => {
        const e = r.convKernels[k];
        return e === undefined ? '-' : `${e.gflops.toFixed(1)} (${(e.share * 100).toFixed(0)}%)`;
      }),
    ]),
  );
  const measured =
    peak.measuredGflopsPerCore === undefined ? '' : `; measured ${peak.measuredGflopsPerCore.toFixed(1)} GFLOP/s (FMA loop, one thread)`;
  return [
    'Convolution kernels per client, in direct-convolution GFLOP/s (Winograd counts the work it avoids); in brackets, their share of the step.',
    'conv also runs the input gradients. A client on T threads can reach T x the per-core peak.',
    table,
    `CPU: ${peak.cpu}; kernels: ${peak.isa}`,
    `peak per core: nominal ${peak.nominal.gflopsPerCore.toFixed(1)} GFLOP/s (${peak.nominal.basis})${measured}`,
  ].join('\n');
}

/** One client on one thread, one client on every core, and one single-threaded client per core (the simulation). */
function defaultLayouts(): Layout[] {
  const cores = os.availableParallelism();
  const layouts = [{ workers: 1, threads: 1 }];
  if (cores > 1) layouts.push({ workers: 1, threads: cores }, { workers: cores, threads: 1 });
  return layouts;
}

/** Parses `--layouts 1x1,1x2,2x1`. */
function parseLayouts(value: string): Layout[] {
  return parseList(value).map((item) => {
    const m = /^(\d+)x(\d+)$/.exec(item);
    if (m === null) throw new InvalidArgumentError(`--layouts takes WORKERSxTHREADS items such as 1x2, got "${item}"`);
    return { workers: parsePositiveInt(m[1]!, '--layouts workers'), threads: parsePositiveInt(m[2]!, '--layouts threads') };
  });
}

/** The interpreter for `--torch`, or undefined after saying why the comparison is skipped. */
async function torchPython(): Promise<TorchPython | undefined> {
  const found = await findTorchPython();
  if ('python' in found) return found;
  process.stderr.write(`${found.reason}\n`);
  return undefined;
}

/** The human table: throughput, PyTorch's in the same run, ratio, peak memory, and the AmpNorm overhead. */
function benchTable(rows: BenchRow[], torch: TorchPython | undefined): string {
  const table = formatTable(
    ['config', 'batch', 'workers', 'threads', 'img/s', 'PyTorch img/s', 'ratio', 'peak RSS (MiB)', 'AmpNorm %', 'host GFLOP/s/core'],
    rows.map((r) => [
      r.config,
      String(r.batch),
      String(r.workers),
      String(r.threads),
      r.imagesPerSecond.toPrecision(3),
      r.torchImagesPerSecond?.toPrecision(3) ?? '-',
      r.ratioToTorch === undefined ? '-' : `${r.ratioToTorch.toFixed(2)}x`,
      r.peakRssMiB.toFixed(0),
      (r.ampNormShare * 100).toFixed(1),
      [r.hostGflopsPerCore, r.torchHostGflopsPerCore]
        .filter((g) => g !== undefined)
        .map((g) => g.toFixed(0))
        .join(' / ') || '-',
    ]),
  );
  const amp = rows.find((r) => r.config === 'densenet121+ampnorm-L0.1');
  // AmpNorm's share is timed inside the run; comparing two rows' throughput would mostly measure noise.
  const overhead =
    amp === undefined
      ? ''
      : `\nAmpNorm L=0.1 (FFT path, EMA update every step) takes ${(amp.ampNormShare * 100).toFixed(1)}% of the densenet121 step, i.e. adds ${((amp.ampNormShare / (1 - amp.ampNormShare)) * 100).toFixed(1)}% to the step without it`;
  const versus =
    torch === undefined
      ? ''
      : `\nPyTorch ${torch.torch} (${torch.python}), same step, one model on workers x threads threads, measured in this run`;
  const checks = rows.flatMap((r) => [r.hostGflopsPerCore, r.torchHostGflopsPerCore]).filter((g) => g !== undefined);
  // The run's best check stands for the idle host: the one at start can itself be taken while the host is busy.
  const host =
    checks.length === 0
      ? ''
      : `\nhost GFLOP/s/core: the FMA loop on the row's cores at once for 0.2 s just before the row (then before its PyTorch run), slowest core; well below this run's best (${Math.max(...checks).toFixed(0)}) means the shared host held those cores back then`;
  return `backend: ${rows[0]?.backend ?? '-'}${versus}\n${table}${overhead}${host}`;
}

/** ", host N GFLOP/s/core" for the progress line, or nothing on wasm. */
function hostNote(gflops: number | undefined): string {
  return gflops === undefined ? '' : `, host ${gflops.toFixed(0)} GFLOP/s/core`;
}

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ModelConfig } from '../nn/model.js';

const run = promisify(execFile);

/** scripts/torch_bench.py, resolved from dist/src/bench/ where this module runs compiled. */
export const TORCH_BENCH_SCRIPT = fileURLToPath(new URL('../../../scripts/torch_bench.py', import.meta.url));

/** An interpreter that imports torch, and the torch version it reports. */
export interface TorchPython {
  python: string;
  torch: string;
}

/** Why the comparison cannot run: every candidate and what went wrong with it. */
export interface NoTorchPython {
  reason: string;
}

/** The same step in PyTorch, as the script prints it. */
export interface TorchBenchResult {
  imagesPerSecond: number;
  threads: number;
  torch: string;
  seconds: number;
  params: number;
}

/** One PyTorch measurement: harmofl's bench step for `model`, on `threads` threads. */
export interface TorchBenchRequest {
  model: ModelConfig;
  batch: number;
  ampL: number;
  warmupSteps: number;
  steps: number;
  threads: number;
  seed: number;
  mode: 'train' | 'predict';
}

/** Interpreters to try, in order: HARMOFL_PYTHON, python3 on PATH, Debian's /usr/bin/python3. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env['HARMOFL_PYTHON'];
  const all = [...(fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : []), 'python3', '/usr/bin/python3'];
  return [...new Set(all)];
}

/** Why a child failed: timed out, not found, or the last line of its stderr. */
function failure(e: unknown): string {
  if ((e as { killed?: unknown }).killed === true) return 'timed out';
  const stderr = (e as { stderr?: unknown }).stderr;
  const line =
    typeof stderr === 'string'
      ? stderr
          .trim()
          .split('\n')
          .filter((l) => l.trim() !== '')
          .at(-1)
      : undefined;
  if (line !== undefined) return line.trim();
  const code = (e as { code?: unknown }).code;
  return code === 'ENOENT' ? 'not found' : e instanceof Error ? e.message : String(e);
}

/** The first candidate that can `import torch`, or why none can. */
export async function findTorchPython(candidates: readonly string[] = pythonCandidates()): Promise<TorchPython | NoTorchPython> {
  const tried: string[] = [];
  for (const python of candidates) {
    try {
      // A pyenv shim or a venv without torch fails here; importing torch takes a few seconds cold.
      const { stdout } = await run(python, ['-c', 'import torch; print(torch.__version__)'], { timeout: 120_000 });
      return { python, torch: stdout.trim() };
    } catch (e) {
      tried.push(`${python}: ${failure(e)}`);
    }
  }
  return {
    reason: `PyTorch comparison skipped: no python3 with torch found (tried ${tried.join('; ')}); on Debian: apt-get install python3-torch, or set HARMOFL_PYTHON`,
  };
}

const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** The script's JSON line (the last non-empty line of stdout), validated. */
export function parseTorchBenchOutput(stdout: string): TorchBenchResult {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  if (line === undefined) throw new Error('torch bench printed nothing');
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`torch bench printed no JSON: ${line.slice(0, 200)}`);
  }
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const { imagesPerSecond, threads, torch, seconds, params } = r;
  if (!isPositive(imagesPerSecond) || !isCount(threads) || typeof torch !== 'string' || !isPositive(seconds) || !isCount(params))
    throw new Error(`torch bench output lacks imagesPerSecond, threads, torch, seconds or params: ${line.slice(0, 200)}`);
  return { imagesPerSecond, threads, torch, seconds, params };
}

/** Runs scripts/torch_bench.py with `python` and returns its validated figure. */
export async function runTorchBench(python: string, request: TorchBenchRequest, timeoutMs = 30 * 60_000): Promise<TorchBenchResult> {
  const args = [
    TORCH_BENCH_SCRIPT,
    ['--config', JSON.stringify(request.model)],
    ['--batch', request.batch],
    ['--amp-l', request.ampL],
    ['--warmup', request.warmupSteps],
    ['--steps', request.steps],
    ['--threads', request.threads],
    ['--seed', request.seed],
    ['--mode', request.mode],
  ].flat();
  // OpenMP sizes its pool from the environment at load, before the script can set it.
  const env = { ...process.env, OMP_NUM_THREADS: String(request.threads) };
  try {
    const { stdout } = await run(python, args.map(String), { timeout: timeoutMs, env });
    return parseTorchBenchOutput(stdout);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('torch bench')) throw e;
    throw new Error(`torch bench (${python}) failed: ${failure(e)}`);
  }
}

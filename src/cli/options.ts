import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice, type BackendInfo } from '../engine/backend.js';
import { defaultThreads, initBackend } from '../engine/node_backend.js';

/** Parses a comma-separated list. */
export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Parses a positive integer option or fails naming the option. */
export function parsePositiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${option} takes a positive integer, got "${value}"`);
  return n;
}

/** Parses `--backend`. */
function parseBackend(value: string): BackendChoice {
  if (!(BACKEND_CHOICES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`choose one of ${BACKEND_CHOICES.join(', ')}`);
  return value as BackendChoice;
}

/** Adds `--backend` and (unless `threads` is false) `--threads`, the one definition every command shares. */
export function addBackendOption(cmd: Command, threads = true): Command {
  cmd.option('--backend <name>', BACKEND_CHOICES.join(' | '), parseBackend, 'auto' as BackendChoice);
  if (threads)
    cmd.option(
      '--threads <n>',
      'kernel threads per client, native kernels only (default: every core, shared among parallel clients)',
      (v: string) => parsePositiveInt(v, '--threads'),
    );
  return cmd;
}

/** What `addBackendOption` parses. */
export interface BackendOptions {
  backend: BackendChoice;
  threads?: number;
}

/** Kernel threads of a command's one client: `--threads`, else every core. */
export const clientThreads = (o: BackendOptions): number => o.threads ?? defaultThreads();

/** Starts the backend that `--backend` and `--threads` ask for, for a command's one client. */
export function initCommandBackend(o: BackendOptions): Promise<BackendInfo> {
  return initBackend(o.backend, { threads: clientThreads(o) });
}

/** Adds `--workers` (parallel clients, default the machine's cores). */
export function addWorkersOption(cmd: Command, help = 'parallel clients (default: cores)'): Command {
  return cmd.option('--workers <n>', help, (v: string) => parsePositiveInt(v, '--workers'), os.availableParallelism());
}

/** Parser for a number option with a lower bound, naming the option in its error. */
export function parseBound(name: string, min: 'zero' | 'positive'): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (min === 'zero' ? n < 0 : n <= 0))
      throw new InvalidArgumentError(`${name} takes a number ${min === 'zero' ? '>= 0' : '> 0'}, got "${v}"`);
    return n;
  };
}

/** Parser for an option restricted to `values`. */
export const oneOf =
  <T extends string>(name: string, values: readonly T[]) =>
  (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${name}: choose one of ${values.join(', ')}`);
    return v as T;
  };

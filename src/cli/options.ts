import { InvalidArgumentError } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../engine/backend.js';

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
export function parseBackend(value: string): BackendChoice {
  if (!(BACKEND_CHOICES as readonly string[]).includes(value)) throw new InvalidArgumentError(`choose one of ${BACKEND_CHOICES.join(', ')}`);
  return value as BackendChoice;
}

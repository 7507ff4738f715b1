import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../engine/atomic_write.js';
import type { InputItem, LoadedInput } from './inputs.js';

/** An input with the model's logits for each of its images (flat, channels last). */
export interface Predicted {
  item: InputItem;
  loaded: LoadedInput;
  logits: Float32Array[];
}

/** Writes a task's outputs for each predicted input, then its predictions.csv. */
export interface PredictionWriter {
  write(p: Predicted): Promise<void>;
  /** Writes predictions.csv of every input written; returns its path. */
  finish(): Promise<string>;
}

/** Writes `bytes` to `relative` under `out` atomically (a crash never leaves a partial file), creating folders. */
export async function writeOutput(out: string, relative: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(out, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, [bytes]);
  return file;
}

/** An input's name without its image or volume extension: the stem of its output files. */
export function outputStem(name: string): string {
  return name.replace(/\.(png|jpe?g|nii(\.gz)?)$/i, '');
}

const csvField = (v: string): string => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Writes `predictions.csv` under `out` atomically. */
export async function writePredictionsCsv(out: string, header: string[], rows: string[][]): Promise<string> {
  const text = [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n');
  return writeOutput(out, 'predictions.csv', new TextEncoder().encode(`${text}\n`));
}

import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** An array in the golden schema: flat row-major data with its shape. */
export interface GoldenArray {
  shape: number[];
  data: number[];
}

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/golden/', import.meta.url));

/** Where golden vectors come from: HARMOFL_GOLDEN_DIR (plain JSON) or the repository's gzipped copies. */
export function goldenSource(): string {
  return process.env['HARMOFL_GOLDEN_DIR'] ?? FIXTURES;
}

/** Reads golden file `name` (e.g. `losses`) as parsed JSON. */
export function readGolden<T>(name: string): T {
  const dir = process.env['HARMOFL_GOLDEN_DIR'];
  if (dir !== undefined) {
    const file = path.join(dir, `${name}.json`);
    if (!existsSync(file)) throw new Error(`HARMOFL_GOLDEN_DIR=${dir} has no ${name}.json`);
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  }
  return JSON.parse(gunzipSync(readFileSync(path.join(FIXTURES, `${name}.json.gz`))).toString('utf8')) as T;
}

/** Asserts |a - e| <= atol + rtol * |e| element-wise; reports the worst element. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { rtol?: number; atol?: number },
  label: string,
): void {
  if (actual.length !== expected.length) throw new Error(`${label}: ${actual.length} values, expected ${expected.length}`);
  const rtol = tol.rtol ?? 0;
  const atol = tol.atol ?? 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= worstExcess) || Number.isNaN(a)) {
      worst = i;
      worstExcess = Number.isNaN(a) ? Infinity : excess;
    }
  }
  if (worst >= 0)
    throw new Error(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol}; ${actual.length} values)`,
    );
}

import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { encode } from 'fast-png';

/** Writes an 8-bit PNG (channels 1 or 3) for tests; values are clamped to 0..255. */
export async function writePng(file: string, width: number, height: number, channels: 1 | 3, value: (x: number, y: number, c: number) => number): Promise<void> {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = Math.max(0, Math.min(255, value(x, y, c)));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, encode({ width, height, data, channels, depth: 8 }));
}

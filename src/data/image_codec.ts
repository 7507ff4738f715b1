import { readFile } from 'node:fs/promises';
import { decode as decodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import type { Image } from './sample.js';

/** Error for data a user must fix: it names the file and what is wrong. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file}: ${why}`);
    this.name = 'DataError';
  }
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const startsWith = (bytes: Uint8Array, magic: number[]): boolean => magic.every((b, i) => bytes[i] === b);

/** Decodes PNG or JPEG bytes (told apart by content, not name) into an Image; `file` names errors. */
export function decodeImage(bytes: Uint8Array, file: string): Image {
  try {
    if (startsWith(bytes, PNG_MAGIC)) {
      const png = decodePng(bytes);
      if (png.palette !== undefined) throw new Error('palette PNGs are not supported; save as RGB or grayscale');
      const src = png.data;
      return { data: Float32Array.from(src), height: png.height, width: png.width, channels: png.channels };
    }
    if (startsWith(bytes, JPEG_MAGIC)) {
      // jpeg-js always returns RGBA; keep RGB.
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      const n = img.width * img.height;
      const data = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) {
        data[3 * i] = img.data[4 * i]!;
        data[3 * i + 1] = img.data[4 * i + 1]!;
        data[3 * i + 2] = img.data[4 * i + 2]!;
      }
      return { data, height: img.height, width: img.width, channels: 3 };
    }
  } catch (e) {
    throw new DataError(file, `cannot decode image (${e instanceof Error ? e.message : String(e)})`);
  }
  throw new DataError(file, 'not a PNG or JPEG image');
}

/** Reads and decodes an image file. */
export async function readImage(file: string): Promise<Image> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new DataError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read (${String(e)})`);
  }
  return decodeImage(bytes, file);
}

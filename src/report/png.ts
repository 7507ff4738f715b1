import { encode as encodePng } from 'fast-png';

/** 8-bit H x W pixels (1 or 3 channels, row-major, channels last) as a PNG data URI, so report.html needs no other file. */
export function pngDataUri(bytes: Uint8Array, height: number, width: number, channels: 1 | 3): string {
  const png = encodePng({ width, height, data: bytes, channels, depth: 8 });
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

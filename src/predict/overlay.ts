import { encode } from 'fast-png';
import type { Image } from '../data/sample.js';

/** Outline colours of classes 1, 2, ... (cycled): red, green, blue, yellow, magenta, cyan. */
const PALETTE: Array<[number, number, number]> = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 96, 255],
  [255, 255, 0],
  [255, 0, 255],
  [0, 255, 255],
];

/**
 * An RGB PNG of `image` (grey or RGB, 0..255; other channel counts show their first channel) with
 * the outline of each foreground class of `mask` (H x W class indices) drawn over it: every pixel
 * of a class whose 4-neighbour is another class, or lies outside the image.
 */
export function overlayPng(image: Image, mask: Uint8Array): Uint8Array {
  const { height, width, channels } = image;
  const rgb = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++)
    for (let c = 0; c < 3; c++)
      rgb[p * 3 + c] = Math.max(0, Math.min(255, Math.round(image.data[p * channels + (channels === 3 ? c : 0)]!)));
  const at = (y: number, x: number): number => (y < 0 || y >= height || x < 0 || x >= width ? -1 : mask[y * width + x]!);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const k = mask[y * width + x]!;
      if (k === 0) continue;
      if (at(y - 1, x) !== k || at(y + 1, x) !== k || at(y, x - 1) !== k || at(y, x + 1) !== k)
        rgb.set(PALETTE[(k - 1) % PALETTE.length]!, (y * width + x) * 3);
    }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** A mask as an 8-bit grey PNG: class k becomes k * floor(255 / (classes - 1)), so two classes give 0 and 255. */
export function maskPng(mask: Uint8Array, height: number, width: number, classes: number): Uint8Array {
  const step = Math.floor(255 / Math.max(1, classes - 1));
  return encode({ width, height, data: mask.map((k) => k * step), channels: 1, depth: 8 });
}

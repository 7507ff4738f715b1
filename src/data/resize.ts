import type { Image } from './sample.js';

/** Bilinear resize of an H x W x C image (pixel centres at half-integers, edges clamped). */
export function resizeBilinear(img: Image, height: number, width: number): Image {
  if (img.height === height && img.width === width) return img;
  const { channels: c } = img;
  const out = new Float32Array(height * width * c);
  const sy = img.height / height;
  const sx = img.width / width;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let ch = 0; ch < c; ch++) {
        const at = (yy: number, xx: number): number => img.data[(yy * img.width + xx) * c + ch]!;
        const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
        const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
        out[(y * width + x) * c + ch] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { data: out, height, width, channels: c };
}

/** Nearest-neighbour resize of an H x W mask of class indices (no new classes appear). */
export function resizeNearest(mask: Uint8Array, h: number, w: number, height: number, width: number): Uint8Array {
  if (h === height && w === width) return mask;
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / height));
    for (let x = 0; x < width; x++) out[y * width + x] = mask[sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / width))]!;
  }
  return out;
}

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import { Rng } from '../engine/rng.js';
import { camelyonPatchPath } from './camelyon.js';
import { encodeNifti } from './nifti_writer.js';
import { PROSTATE_SITES } from './prostate.js';

/** Sizes of the synthetic federations (defaults train in minutes on 2 cores). */
export interface SynthOptions {
  sites: number;
  /** Camelyon-style patches per site, and their side in pixels. */
  patchesPerSite: number;
  patchSize: number;
  /** Prostate-style cases per site, and the volume's in-plane side and slice count. */
  casesPerSite: number;
  volumeSize: number;
  slices: number;
  /** Manifest (nuclei-style) segmentation images per site, and their side (a multiple of 16). */
  imagesPerSite: number;
  imageSize: number;
  /** Strength of the site shifts: 0 makes every site look alike (a control), 1 is the default. */
  shift: number;
  seed: number;
}

export const SYNTH_DEFAULTS: SynthOptions = {
  sites: 4,
  patchesPerSite: 160,
  patchSize: 32,
  casesPerSite: 4,
  volumeSize: 64,
  slices: 12,
  imagesPerSite: 64,
  imageSize: 48,
  shift: 1,
  seed: 0,
};

/**
 * How a site's scanner or stain changes its images while the content stays: a colour cast (per
 * channel gain), contrast (gamma) and brightness, blur, noise of a site-specific spectrum (white or
 * spatially smooth), and a per-image offset whose spread is the site's. These change each image's Fourier amplitude, which is what AmpNorm
 * harmonizes; labels depend only on shapes and counts.
 */
export interface SiteShift {
  gain: [number, number, number];
  gamma: number;
  offset: number;
  blur: number;
  noise: number;
  smoothNoise: boolean;
  /** Spread (std) of a per-image, per-channel offset: slide-to-slide stain and illumination variation. */
  imageJitter: number;
}

/** Site `i`'s shift at `strength` (0: none); site 0 is close to neutral, later sites drift further. */
function siteShift(i: number, seed: number, strength = 1): SiteShift {
  const rng = new Rng(seed * 7919 + i * 104729 + 1);
  const s = Math.min(1, i / 3) * strength;
  const jitter = (): number => (rng.uniform() * 2 - 1) * s;
  return {
    gain: [1 + 0.5 * jitter(), 1 + 0.5 * jitter(), 1 + 0.5 * jitter()],
    gamma: 1 + 0.7 * jitter(),
    offset: 0.2 * jitter(),
    blur: strength > 0 ? Math.min(i % 3, 1) : 0,
    noise: 0.03 + 0.1 * s * rng.uniform(),
    smoothNoise: strength > 0 && i % 2 === 1,
    imageJitter: 0.2 * s,
  };
}

/** Box blur of radius r on an H x W x C float image in [0, 1]. */
function blur(img: Float32Array, h: number, w: number, c: number, r: number): Float32Array {
  if (r === 0) return img;
  const out = new Float32Array(img.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        let n = 0;
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            s += img[(yy * w + xx) * c + ch]!;
            n++;
          }
        out[(y * w + x) * c + ch] = s / n;
      }
  return out;
}

/** Applies a site's shift to a clean image in [0, 1] (H x W x C); returns values in [0, 1]. */
function applyShift(clean: Float32Array, h: number, w: number, c: number, shift: SiteShift, rng: Rng): Float32Array {
  let noise = Float32Array.from({ length: h * w * c }, () => rng.normal() * shift.noise);
  if (shift.smoothNoise) noise = Float32Array.from(blur(noise, h, w, c, 2), (v) => v * 3);
  const blurred = blur(clean, h, w, c, shift.blur);
  const imageOffset = Array.from({ length: c }, () => rng.normal() * shift.imageJitter);
  return Float32Array.from(blurred, (v, i) => {
    const g = shift.gain[i % c] ?? 1;
    const toned = Math.pow(Math.min(Math.max(v * g + shift.offset, 0), 1), shift.gamma);
    return Math.min(Math.max(toned + imageOffset[i % c]! + noise[i]!, 0), 1);
  });
}

/** Draws disks (centre, radius) into a plane; returns how many were drawn. */
function disks(h: number, w: number, count: number, rMin: number, rMax: number, rng: Rng, paint: (y: number, x: number, k: number) => void): void {
  for (let k = 0; k < count; k++) {
    const r = rMin + rng.uniform() * (rMax - rMin);
    const cy = rng.uniform() * h;
    const cx = rng.uniform() * w;
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(h, Math.ceil(cy + r)); y++)
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(w, Math.ceil(cx + r)); x++)
        if ((y - cy) ** 2 + (x - cx) ** 2 <= r * r) paint(y, x, k);
  }
}

/**
 * A clean histology-like patch: nuclei of the same stain on textured stroma; tumor patches hold
 * more and slightly smaller nuclei than normal ones (counts overlap little, so the label is
 * learnable but takes fine detail that blur and noise obscure).
 */
function histologyPatch(size: number, tumor: boolean, rng: Rng): Float32Array {
  const img = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const t = 0.06 * rng.normal();
    img.set([0.9 + t, 0.76 + t, 0.85 + t], i * 3);
  }
  const count = tumor ? 11 + rng.int(5) : 6 + rng.int(4);
  const [rMin, rMax] = tumor ? [1.3, 2.1] : [1.6, 2.6];
  const ink = [0.42 + 0.08 * rng.normal(), 0.2 + 0.05 * rng.normal(), 0.5 + 0.08 * rng.normal()];
  disks(size, size, Math.round((count * size * size) / (32 * 32)), rMin, rMax, rng, (y, x) => img.set(ink, (y * size + x) * 3));
  return img;
}

function toBytes(img: Float32Array): Uint8Array {
  return Uint8Array.from(img, (v) => Math.round(v * 255));
}

async function writeCamelyon(dir: string, o: SynthOptions): Promise<void> {
  const lines = ['patient,node,x_coord,y_coord,tumor,slide,center,split'];
  for (let center = 0; center < o.sites; center++) {
    const shift = siteShift(center, o.seed, o.shift);
    const rng = new Rng(o.seed * 31 + center);
    const patient = String(center * 10 + 1);
    for (let i = 0; i < o.patchesPerSite; i++) {
      const tumor = i % 2 === 1;
      const x = String((i % 40) * o.patchSize);
      const y = String(Math.floor(i / 40) * o.patchSize);
      const file = path.join(dir, camelyonPatchPath(patient, '0', x, y));
      await mkdir(path.dirname(file), { recursive: true });
      const img = applyShift(histologyPatch(o.patchSize, tumor, rng), o.patchSize, o.patchSize, 3, shift, rng);
      await writeFile(file, encodePng({ width: o.patchSize, height: o.patchSize, data: toBytes(img), channels: 3, depth: 8 }));
      lines.push(`${patient},0,${x},${y},${tumor ? 1 : 0},${center},${center},0`);
    }
  }
  await writeFile(path.join(dir, 'metadata.csv'), `${lines.join('\n')}\n`);
}

async function writeNuclei(dir: string, o: SynthOptions): Promise<void> {
  const lines = ['site,split,image,label'];
  const s = o.imageSize;
  for (let site = 0; site < o.sites; site++) {
    const shift = siteShift(site, o.seed + 1, o.shift);
    const rng = new Rng(o.seed * 37 + site);
    for (let i = 0; i < o.imagesPerSite; i++) {
      const clean = new Float32Array(s * s * 3).fill(0.85);
      const mask = new Uint8Array(s * s);
      disks(s, s, 4 + rng.int(6), 2.5, 5.5, rng, (y, x) => {
        clean.set([0.3, 0.2, 0.5], (y * s + x) * 3);
        mask[y * s + x] = 255;
      });
      const img = applyShift(clean, s, s, 3, shift, rng);
      const name = `site${site}/img${i}.png`;
      const maskName = `site${site}/img${i}_mask.png`;
      await mkdir(path.join(dir, `site${site}`), { recursive: true });
      await writeFile(path.join(dir, name), encodePng({ width: s, height: s, data: toBytes(img), channels: 3, depth: 8 }));
      await writeFile(path.join(dir, maskName), encodePng({ width: s, height: s, data: mask, channels: 1, depth: 8 }));
      const split = i < o.imagesPerSite * 0.6 ? 'train' : i < o.imagesPerSite * 0.8 ? 'val' : 'test';
      lines.push(`site${site},${split},${name},${maskName}`);
    }
  }
  await writeFile(path.join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
}

async function writeProstate(dir: string, o: SynthOptions): Promise<void> {
  const [n, d] = [o.volumeSize, o.slices];
  for (let site = 0; site < o.sites; site++) {
    const name = PROSTATE_SITES[site] ?? `SITE${site}`;
    const shift = siteShift(site, o.seed + 2, o.shift);
    const rng = new Rng(o.seed * 41 + site);
    // MR scanners differ in raw intensity scale as well.
    const scale = 400 + 900 * rng.uniform();
    await mkdir(path.join(dir, name), { recursive: true });
    for (let c = 0; c < o.casesPerSite; c++) {
      const clean = new Float32Array(n * n * d);
      const mask = new Uint8Array(n * n * d);
      const [cy, cx, cz] = [n * (0.4 + 0.2 * rng.uniform()), n * (0.4 + 0.2 * rng.uniform()), d * (0.4 + 0.2 * rng.uniform())];
      const [ry, rx, rz] = [n * (0.12 + 0.08 * rng.uniform()), n * (0.15 + 0.08 * rng.uniform()), d * (0.25 + 0.1 * rng.uniform())];
      for (let z = 0; z < d; z++) {
        const plane = new Float32Array(n * n);
        for (let y = 0; y < n; y++)
          for (let x = 0; x < n; x++) {
            const inside = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 + ((z - cz) / rz) ** 2 <= 1;
            const i = y * n + x;
            plane[i] = inside ? 0.65 + 0.1 * Math.sin(x / 3) : 0.3 + 0.15 * Math.exp(-(((y - n / 2) / n) ** 2) * 4);
            // NIfTI order: x fastest, then y, then z.
            mask[z * n * n + i] = inside ? 1 : 0;
          }
        const shifted = applyShift(plane, n, n, 1, { ...shift, gain: [shift.gain[0], 1, 1] }, rng);
        for (let i = 0; i < n * n; i++) clean[z * n * n + i] = shifted[i]! * scale;
      }
      const caseName = `Case${String(c).padStart(2, '0')}`;
      await writeFile(path.join(dir, name, `${caseName}.nii.gz`), encodeNifti(clean, [n, n, d]));
      await writeFile(path.join(dir, name, `${caseName}_segmentation.nii.gz`), encodeNifti(mask, [n, n, d]));
    }
  }
}

/** Where `writeSyntheticFederations` puts each federation under its output folder. */
const SYNTH_LAYOUT = { camelyon: 'camelyon17', prostate: 'prostate', nuclei: 'nuclei' } as const;

/**
 * Writes the three synthetic federations (Camelyon17-WILDS layout, prostate NIfTI, nuclei
 * manifest) under `out`. Each is written into a temporary folder and renamed into place, so an
 * interrupted run leaves nothing half-written. The same options give identical files.
 */
export async function writeSyntheticFederations(out: string, options: Partial<SynthOptions> = {}): Promise<Record<keyof typeof SYNTH_LAYOUT, string>> {
  const o = { ...SYNTH_DEFAULTS, ...options };
  if (o.imageSize % 16 !== 0) throw new Error(`--image-size ${o.imageSize}: segmentation images must be a multiple of 16 (U-Net)`);
  if (o.volumeSize % 16 !== 0) throw new Error(`--volume-size ${o.volumeSize}: must be a multiple of 16 (U-Net)`);
  await mkdir(out, { recursive: true });
  const writers: Record<keyof typeof SYNTH_LAYOUT, (dir: string, o: SynthOptions) => Promise<void>> = {
    camelyon: writeCamelyon,
    prostate: writeProstate,
    nuclei: writeNuclei,
  };
  const result = {} as Record<keyof typeof SYNTH_LAYOUT, string>;
  for (const key of Object.keys(SYNTH_LAYOUT) as Array<keyof typeof SYNTH_LAYOUT>) {
    const final = path.join(out, SYNTH_LAYOUT[key]);
    const tmp = `${final}.partial-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await writers[key](tmp, o);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    result[key] = final;
  }
  return result;
}

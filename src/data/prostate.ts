import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Rng } from '../engine/rng.js';
import { DataError } from './image_codec.js';
import { LruCache } from './lru_cache.js';
import type { Federation, ManifestOptions } from './manifest.js';
import { readNifti, type Volume } from './nifti.js';
import type { Sample, SampleSource, Split } from './sample.js';

/** The sites of the multi-site prostate release the paper used (any other folder of cases also counts). */
export const PROSTATE_SITES = ['BIDMC', 'HK', 'I2CVB', 'ISBI', 'ISBI_1.5', 'UCL'];
/** Train / val fractions after the seeded permutation; the rest is test (the reference's 64/16/20). */
export const PROSTATE_SPLIT = { train: 0.64, val: 0.16 };

export interface ProstateOptions extends Pick<ManifestOptions, 'imbalance' | 'cacheBytes'> {
  /** Seed of each site's slice permutation (default 0). */
  seed?: number;
  /**
   * A JSON index file fixing the splits instead of the permutation:
   * `{"SITE": {"train": ["Case00:3", ...], "val": [...], "test": [...]}}` (case name : slice).
   */
  splitFile?: string;
}

type SplitIndex = Record<string, Partial<Record<Split, string[]>>>;

async function readSplitIndex(file: string): Promise<SplitIndex> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as SplitIndex;
  } catch (e) {
    throw new DataError(file, `cannot read the split index (${e instanceof Error ? e.message : String(e)})`);
  }
}

interface Case {
  name: string;
  image: string;
  mask: Uint8Array;
  dims: [number, number, number];
}

const CASE = /^(Case\d+)\.nii(\.gz)?$/i;

/** Processed volume: intensities clipped to [min, 99th percentile] and mapped to 0..255 (the reference). */
export function windowVolume(volume: Volume): Float32Array {
  const sorted = Float32Array.from(volume.data).sort();
  const lo = sorted[0]!;
  const hi = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * (sorted.length - 1)))]!;
  const range = hi - lo || 1;
  return Float32Array.from(volume.data, (v) => ((Math.min(Math.max(v, lo), hi) - lo) / range) * 255);
}

/** Slice `z` with its two neighbours (clamped at the ends) as 3 channels, [y, x, 3]. */
export function sliceStack(volume: Float32Array, dims: [number, number, number], z: number): Float32Array {
  const [x, y, depth] = dims;
  const plane = x * y;
  const out = new Float32Array(plane * 3);
  [z - 1, z, z + 1].forEach((s, c) => {
    const base = Math.min(Math.max(s, 0), depth - 1) * plane;
    for (let i = 0; i < plane; i++) out[i * 3 + c] = volume[base + i]!;
  });
  return out;
}

/** Slices of one site and split, windowed volumes decoded on demand through a shared cache. */
class SliceSource implements SampleSource {
  constructor(
    readonly site: string,
    readonly split: Split,
    private readonly items: Array<[Case, number]>,
    private readonly volume: (c: Case) => Promise<Float32Array>,
  ) {}

  get size(): number {
    return this.items.length;
  }

  labelOf(): undefined {
    return undefined;
  }

  async get(index: number): Promise<Sample> {
    const item = this.items[index];
    if (item === undefined) throw new RangeError(`${this.site}/${this.split}: index ${index} outside 0..${this.items.length - 1}`);
    const [c, z] = item;
    const [x, y] = c.dims;
    const data = sliceStack(await this.volume(c), c.dims, z);
    return { image: { data, height: y, width: x, channels: 3 }, label: c.mask.subarray(z * x * y, (z + 1) * x * y) };
  }
}

/** Finds `CaseXX_segmentation.nii[.gz]` (or `_Segmentation`) beside a case. */
function maskFile(files: string[], name: string): string | undefined {
  return files.find((f) => new RegExp(`^${name}_segmentation\\.nii(\\.gz)?$`, 'i').test(f));
}

/**
 * Multi-site prostate MRI: one folder per site with `CaseXX.nii.gz` and its segmentation. Masks
 * are read at load (values > 1 become 1) to keep only slices with foreground; image volumes are
 * windowed to 0..255 on first use and cached. Per site the slices are permuted with the seed and
 * cut 64/16/20 into train/val/test. Values stay 0..255 (the reference does not rescale).
 */
export async function loadProstateFederation(dir: string, options: ProstateOptions = {}): Promise<Federation> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    throw new DataError(dir, 'not found: a prostate federation is a folder with one subfolder of CaseXX.nii.gz files per site');
  }
  const cache = new LruCache<Float32Array>(options.cacheBytes ?? 512 * 2 ** 20, (v) => v.byteLength);
  const volume = async (c: Case): Promise<Float32Array> => {
    const hit = cache.get(c.image);
    if (hit !== undefined) return hit;
    const v = await readNifti(c.image);
    if (v.dims.some((d, i) => d !== c.dims[i])) throw new DataError(c.image, `volume is ${v.dims.join('x')}, its mask ${c.dims.join('x')}`);
    const windowed = windowVolume(v);
    cache.set(c.image, windowed);
    return windowed;
  };
  const sites: Array<{ name: string; parts: Record<Split, Array<[Case, number]>> }> = [];
  const index = options.splitFile === undefined ? undefined : await readSplitIndex(options.splitFile);
  for (const site of entries) {
    const siteDir = path.join(dir, site);
    const files = await readdir(siteDir);
    const cases: Case[] = [];
    for (const f of files.sort()) {
      const m = CASE.exec(f);
      if (m === null) continue;
      const name = m[1]!;
      const maskName = maskFile(files, name);
      if (maskName === undefined) throw new DataError(path.join(siteDir, f), `no ${name}_segmentation.nii.gz beside it`);
      const mask = await readNifti(path.join(siteDir, maskName));
      cases.push({ name, image: path.join(siteDir, f), mask: Uint8Array.from(mask.data, (v) => (v > 0 ? 1 : 0)), dims: mask.dims });
    }
    if (cases.length === 0) continue;
    const slices: Array<[Case, number]> = [];
    for (const c of cases) {
      const plane = c.dims[0] * c.dims[1];
      for (let z = 0; z < c.dims[2]; z++) if (c.mask.subarray(z * plane, (z + 1) * plane).some((v) => v > 0)) slices.push([c, z]);
    }
    if (slices.length === 0) throw new DataError(siteDir, 'no slice of any case has foreground in its mask');
    if (index !== undefined) {
      const byKey = new Map(slices.map((s) => [`${s[0].name}:${s[1]}`, s]));
      const pick = (split: Split): Array<[Case, number]> =>
        (index[site]?.[split] ?? []).map((key) => {
          const found = byKey.get(key);
          if (found === undefined) throw new DataError(options.splitFile!, `${site}/${split}: "${key}" is not a foreground slice of this site`);
          return found;
        });
      sites.push({ name: site, parts: { train: pick('train'), val: pick('val'), test: pick('test') } });
      continue;
    }
    new Rng(options.seed ?? 0).shuffle(slices);
    const nTrain = Math.floor(slices.length * PROSTATE_SPLIT.train);
    const nVal = Math.floor(slices.length * PROSTATE_SPLIT.val);
    sites.push({ name: site, parts: { train: slices.slice(0, nTrain), val: slices.slice(nTrain, nTrain + nVal), test: slices.slice(nTrain + nVal) } });
  }
  if (sites.length === 0) throw new DataError(dir, 'no site folder holds CaseXX.nii(.gz) volumes');
  for (const s of sites) if (s.parts.train.length === 0) throw new DataError(path.join(dir, s.name), 'site has no training slices');
  if (!options.imbalance) {
    const smallest = Math.min(...sites.map((s) => s.parts.train.length));
    for (const s of sites) s.parts.train = s.parts.train.slice(0, smallest);
  }
  return {
    task: 'segmentation',
    numClasses: 2,
    inputScale: 1,
    cachedBytes: () => cache.bytes,
    sites: sites.map((s) => ({
      name: s.name,
      train: new SliceSource(s.name, 'train', s.parts.train, volume),
      val: new SliceSource(s.name, 'val', s.parts.val, volume),
      test: new SliceSource(s.name, 'test', s.parts.test, volume),
    })),
  };
}

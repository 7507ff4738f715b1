import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadFederation } from '../data/federation.js';
import { DataError, readImage } from '../data/image_codec.js';
import type { Task } from '../data/manifest.js';
import { decodeNifti } from '../data/nifti.js';
import { sliceStack, windowVolume } from '../data/prostate.js';
import type { Image, Split } from '../data/sample.js';

/** One image the model sees: channels last, scaled for the model; `display` (0..255) is what overlays draw on. */
export interface Unit {
  image: Image;
  display: Image;
  /** The true class or mask, for federation inputs. */
  label?: number | Uint8Array;
}

/** A loaded input: its images (one, or a volume's slices) and, for a volume, the bytes its mask file keeps the header of. */
export interface LoadedInput {
  units: Unit[];
  volume?: { bytes: Uint8Array; dims: [number, number, number] };
}

/** One input of a run: a file, or a federation sample. */
export interface InputItem {
  /** How outputs and reports name it: a path relative to the input folder, or `site/split_index`. */
  name: string;
  kind: 'image' | 'volume' | 'sample';
  /** Batches never mix groups: a federation's sites are normalized apart, as in evaluation. */
  group: string;
  load(): Promise<LoadedInput>;
}

/** What an input path holds. */
export interface Discovery {
  items: InputItem[];
  /** A federation's task (files carry none). */
  task?: Task;
}

const IMAGE = /\.(png|jpe?g)$/i;
const VOLUME = /\.nii(\.gz)?$/i;
/** harmofl's label-volume naming (prostate federations): masks, not inputs. */
const LABEL_VOLUME = /_segmentation\.nii(\.gz)?$/i;

/** Image files scale to [0, 1] as in training (manifest and Camelyon federations). */
const IMAGE_SCALE = 1 / 255;

function imageItem(file: string, name: string): InputItem {
  return {
    name,
    kind: 'image',
    group: '',
    load: async () => {
      const display = await readImage(file);
      return { units: [{ image: { ...display, data: display.data.map((v) => v * IMAGE_SCALE) }, display }] };
    },
  };
}

/** A volume's slices as training makes them: windowed to 0..255 (not rescaled), each with its two neighbours as channels. */
function volumeItem(file: string, name: string): InputItem {
  return {
    name,
    kind: 'volume',
    group: '',
    load: async () => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (e) {
        throw new DataError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      const volume = decodeNifti(bytes, file);
      const windowed = windowVolume(volume);
      const [x, y, z] = volume.dims;
      const units = Array.from({ length: z }, (_, s) => ({
        image: { data: sliceStack(windowed, volume.dims, s), height: y, width: x, channels: 3 },
        display: { data: windowed.subarray(s * x * y, (s + 1) * x * y), height: y, width: x, channels: 1 },
      }));
      return { units, volume: { bytes, dims: volume.dims } };
    },
  };
}

/** Every image and volume below `dir` (sorted, recursively), named relative to it. */
async function folderItems(dir: string): Promise<InputItem[]> {
  const names = (await readdir(dir, { recursive: true })).sort();
  return names.flatMap((name) => {
    const file = path.join(dir, name);
    if (IMAGE.test(file)) return [imageItem(file, name)];
    if (VOLUME.test(file) && !LABEL_VOLUME.test(file)) return [volumeItem(file, name)];
    return [];
  });
}

/** Whether `dir` is a federation harmofl reads: a manifest, Camelyon metadata, or site folders of labelled volumes. */
async function isFederation(dir: string): Promise<boolean> {
  if (existsSync(path.join(dir, 'manifest.csv')) || existsSync(path.join(dir, 'metadata.csv'))) return true;
  const sites = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
  for (const s of sites) if ((await readdir(path.join(dir, s.name))).some((f) => LABEL_VOLUME.test(f))) return true;
  return false;
}

/** One split of every site (or of `site`) of a federation, one item per sample, grouped by site. */
async function federationItems(dir: string, split: Split, site: string | undefined, seed: number): Promise<Discovery> {
  const fed = await loadFederation(dir, { seed });
  const sites = site === undefined ? fed.sites : fed.sites.filter((s) => s.name === site);
  if (sites.length === 0) throw new Error(`${dir} has no site ${site} (sites: ${fed.sites.map((s) => s.name).join(', ')})`);
  // Prostate samples stack a slice with its neighbours: overlays show the slice itself.
  const middle = fed.inputScale === 1;
  const items = sites.flatMap((s) => {
    const digits = String(s[split].size - 1).length;
    return Array.from({ length: s[split].size }, (_, i): InputItem => ({
      name: `${s.name}/${split}_${String(i).padStart(digits, '0')}`,
      kind: 'sample',
      group: s.name,
      load: async () => {
        const { image, label } = await s[split].get(i);
        const display = middle ? { ...image, data: image.data.filter((_, k) => k % 3 === 1), channels: 1 } : image;
        return { units: [{ image: { ...image, data: image.data.map((v) => v * fed.inputScale) }, display, label }] };
      },
    }));
  });
  return { items, task: fed.task };
}

/** Options of `discoverInputs`. */
export interface DiscoverOptions {
  /** A federation's split to read (prediction: test; calibration: train). */
  split: Split;
  /** Only this federation site. */
  site?: string;
  /** The federation's split seed. */
  seed?: number;
}

/** The inputs a path holds: an image or volume file, a folder of them (recursively), or a federation's split. */
export async function discoverInputs(input: string, options: DiscoverOptions): Promise<Discovery> {
  let info;
  try {
    info = await stat(input);
  } catch {
    throw new DataError(input, 'not found');
  }
  if (info.isDirectory()) {
    if (await isFederation(input)) return federationItems(input, options.split, options.site, options.seed ?? 0);
    const items = await folderItems(input);
    if (items.length === 0) throw new DataError(input, 'holds no PNG, JPEG or NIfTI (.nii, .nii.gz) file');
    return { items };
  }
  const name = path.basename(input);
  if (VOLUME.test(input)) return { items: [volumeItem(input, name)] };
  // Any other file is read as an image: the decoder tells PNG and JPEG by content and names what is wrong.
  return { items: [imageItem(input, name)] };
}

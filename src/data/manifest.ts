import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DataError, readImage } from './image_codec.js';
import { LruCache } from './lru_cache.js';
import { SPLITS, type Image, type Sample, type SampleSource, type Split } from './sample.js';
import { resizeBilinear, resizeNearest } from './resize.js';

/** What a federation trains: a class per image, or a class per pixel. */
export type Task = 'classification' | 'segmentation';

/** A site's three splits. */
export interface SiteData {
  name: string;
  train: SampleSource;
  val: SampleSource;
  test: SampleSource;
}

/** A federation read from disk: one entry per site. */
export interface Federation {
  task: Task;
  numClasses: number;
  sites: SiteData[];
  /** Factor from stored values to model input (1/255: images scaled to [0, 1]; 1: kept as stored). */
  inputScale: number;
  /** Bytes of decoded samples held now (bounded by `cacheBytes`). */
  cachedBytes(): number;
}

export interface ManifestOptions {
  /** Inferred from the labels when absent: integers mean classification, paths segmentation. */
  task?: Task;
  /** Segmentation: mask pixel value to class index; default any non-zero pixel is class 1. */
  classMap?: Record<number, number>;
  /** Classification: labels must lie in 0..numClasses-1 (default: the largest label + 1). */
  numClasses?: number;
  /** Keep every site's full training set; default cuts each to the smallest site's (as the reference). */
  imbalance?: boolean;
  /** Decoded-sample cache bound in bytes (default 256 MiB). */
  cacheBytes?: number;
  /** Resize every image (bilinear) and mask (nearest) to this [height, width]. */
  resize?: [number, number];
}

/** Fraction of a site's train rows that become validation when the manifest gives it none (the reference's last 20%). */
export const VAL_FRACTION = 0.2;

/** Lazily decoded rows of one site and split, sharing one bounded cache. */
class RowSource implements SampleSource {
  constructor(
    readonly site: string,
    readonly split: Split,
    private readonly rows: Row[],
    private readonly load: (row: Row) => Promise<Sample>,
  ) {}

  get size(): number {
    return this.rows.length;
  }

  labelOf(index: number): number | undefined {
    const label = this.rows[index]?.label;
    return label !== undefined && /^\d+$/.test(label) ? Number(label) : undefined;
  }

  get(index: number): Promise<Sample> {
    const row = this.rows[index];
    if (row === undefined) throw new RangeError(`${this.site}/${this.split}: index ${index} outside 0..${this.rows.length - 1}`);
    return this.load(row);
  }
}

const imageBytes = (s: Sample): number => s.image.data.byteLength + (typeof s.label === 'number' ? 0 : s.label.byteLength);

/** A listed example: paths relative to the federation directory; `line` locates it in `source`. */
export interface Row {
  site: string;
  split: Split;
  image: string;
  label: string;
  line: number;
}

/** Reads `dir/manifest.csv` (columns site,split,image,label), checking every row and file before returning. */
export async function loadManifestFederation(dir: string, options: ManifestOptions = {}): Promise<Federation> {
  const file = path.join(dir, 'manifest.csv');
  const records = parseCsv(await readListing(file, 'a manifest federation is a directory with manifest.csv (columns site,split,image,label)'), file, ['site', 'split', 'image', 'label']);
  const rows: Row[] = records.map((r, i) => {
    const line = i + 2;
    if (!(SPLITS as readonly string[]).includes(r['split']!)) throw new DataError(file, `line ${line}: unknown split "${r['split']}" (use train, val or test)`);
    return { site: r['site']!, split: r['split'] as Split, image: r['image']!, label: r['label']!, line };
  });
  return buildFederation(dir, file, rows, options, 1 / 255);
}

/** Reads a federation's listing file; when missing, the error says what the folder should hold. */
export async function readListing(file: string, expected: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new DataError(file, `not found: ${expected}`);
  }
}

/** Parses CSV text with a header row; `required` columns must be present. */
export function parseCsv(text: string, file: string, required: string[]): Record<string, string>[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (e) {
    throw new DataError(file, `not valid CSV (${e instanceof Error ? e.message : String(e)})`);
  }
  if (records.length === 0) throw new DataError(file, 'has no rows');
  const missing = required.filter((c) => !(c in records[0]!));
  if (missing.length > 0) throw new DataError(file, `missing column(s) ${missing.join(', ')}; expected ${required.join(',')}`);
  return records;
}

/**
 * The federation of image-file rows: task and classes checked, files checked, validation taken
 * from the last 20% of train where a site has none, balanced train sets, lazy decoding through one
 * bounded cache. `source` is the listing file errors point to.
 */
export async function buildFederation(dir: string, source: string, rows: Row[], options: ManifestOptions, inputScale: number): Promise<Federation> {
  const integer = /^\d+$/;
  const task: Task = options.task ?? (rows.every((r) => integer.test(r.label)) ? 'classification' : 'segmentation');
  let numClasses: number;
  if (task === 'classification') {
    for (const r of rows) if (!integer.test(r.label)) throw new DataError(source, `line ${r.line}: label "${r.label}" is not a class index`);
    numClasses = options.numClasses ?? Math.max(...rows.map((r) => Number(r.label))) + 1;
    for (const r of rows)
      if (Number(r.label) >= numClasses) throw new DataError(source, `line ${r.line}: label ${r.label} outside the ${numClasses} classes 0..${numClasses - 1}`);
  } else {
    numClasses = options.classMap === undefined ? 2 : Math.max(...Object.values(options.classMap)) + 1;
  }
  await checkFilesExist(dir, source, rows, task);

  const cache = new LruCache<Sample>(options.cacheBytes ?? 256 * 2 ** 20, imageBytes);
  const load = async (row: Row): Promise<Sample> => {
    const key = `${row.line}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const decoded = await readImage(path.join(dir, row.image));
    const label = task === 'classification' ? Number(row.label) : await readMask(dir, row, decoded, options.classMap);
    const sample = options.resize === undefined ? { image: decoded, label } : resizeSample({ image: decoded, label }, options.resize);
    cache.set(key, sample);
    return sample;
  };

  const siteNames = [...new Set(rows.map((r) => r.site))];
  const perSite = siteNames.map((name) => {
    const of = (split: Split): Row[] => rows.filter((r) => r.site === name && r.split === split);
    let train = of('train');
    let val = of('val');
    if (train.length === 0) throw new DataError(source, `site ${name} has no training rows`);
    if (val.length === 0) {
      const cut = train.length - Math.floor(train.length * VAL_FRACTION);
      val = train.slice(cut);
      train = train.slice(0, cut);
    }
    return { name, train, val, test: of('test') };
  });
  if (!options.imbalance) {
    const smallest = Math.min(...perSite.map((s) => s.train.length));
    for (const s of perSite) s.train = s.train.slice(0, smallest);
  }
  return {
    task,
    numClasses,
    inputScale,
    cachedBytes: () => cache.bytes,
    sites: perSite.map((s) => ({
      name: s.name,
      train: new RowSource(s.name, 'train', s.train, load),
      val: new RowSource(s.name, 'val', s.val, load),
      test: new RowSource(s.name, 'test', s.test, load),
    })),
  };
}

/** Every referenced file must exist: checked up front, so a run does not fail hours in. */
async function checkFilesExist(dir: string, source: string, rows: Row[], task: Task): Promise<void> {
  const files = rows.flatMap((r) => (task === 'segmentation' ? [r.image, r.label] : [r.image]));
  const BATCH = 256;
  for (let i = 0; i < files.length; i += BATCH) {
    await Promise.all(
      files.slice(i, i + BATCH).map(async (f) => {
        const full = path.join(dir, f);
        try {
          if (!(await stat(full)).isFile()) throw new Error('not a file');
        } catch {
          throw new DataError(full, `file not found (listed in ${path.basename(source)})`);
        }
      }),
    );
  }
}

/** Reads a mask image as class indices: non-zero is foreground unless a class map says otherwise. */
async function readMask(dir: string, row: Row, image: Image, classMap: Record<number, number> | undefined): Promise<Uint8Array> {
  const file = path.join(dir, row.label);
  const mask = await readImage(file);
  if (mask.height !== image.height || mask.width !== image.width)
    throw new DataError(file, `mask is ${mask.width}x${mask.height}, its image ${row.image} is ${image.width}x${image.height}`);
  const out = new Uint8Array(mask.height * mask.width);
  for (let i = 0; i < out.length; i++) {
    const v = mask.data[i * mask.channels]!;
    if (classMap === undefined) out[i] = v !== 0 ? 1 : 0;
    else {
      const c = classMap[v];
      if (c === undefined) throw new DataError(file, `pixel value ${v} is not in the class map`);
      out[i] = c;
    }
  }
  return out;
}

/** A sample resized to [height, width]: bilinear image, nearest-neighbour mask. */
function resizeSample(sample: Sample, [height, width]: [number, number]): Sample {
  const { image, label } = sample;
  return {
    image: resizeBilinear(image, height, width),
    label: typeof label === 'number' ? label : resizeNearest(label, image.height, image.width, height, width),
  };
}

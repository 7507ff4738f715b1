/** Which part of a site's data a row belongs to. */
export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/** A decoded image, channels last, values as stored (0..255 for 8-bit files). */
export interface Image {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** One training or evaluation example: an image and a class index or a mask (H x W class indices). */
export interface Sample {
  image: Image;
  label: number | Uint8Array;
}

/** A site's rows of one split, decoded on demand. */
export interface SampleSource {
  readonly site: string;
  readonly split: Split;
  readonly size: number;
  get(index: number): Promise<Sample>;
  /** The class of row `index` when known without decoding (classification), else undefined. */
  labelOf(index: number): number | undefined;
}

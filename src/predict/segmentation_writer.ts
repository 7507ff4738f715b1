import { encodeNiftiMask, isGzip } from './nifti_mask.js';
import { maskPng, overlayPng } from './overlay.js';
import { outputStem, writeOutput, writePredictionsCsv, type Predicted, type PredictionWriter } from './output.js';

/** The argmax class of each pixel of channels-last logits with `classes` channels. */
export function argmaxMask(logits: Float32Array, classes: number): Uint8Array {
  const mask = new Uint8Array(logits.length / classes);
  for (let p = 0; p < mask.length; p++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[p * classes + k]! > logits[p * classes + best]!) best = k;
    mask[p] = best;
  }
  return mask;
}

const foregroundFraction = (mask: Uint8Array): number => mask.reduce((a, k) => a + (k > 0 ? 1 : 0), 0) / mask.length;

/**
 * Segmentation outputs: per image a mask PNG at the input's size and an overlay PNG with the mask's
 * outline; per volume a NIfTI mask keeping the volume's header and an overlay per slice with
 * foreground; predictions.csv with each input's foreground fraction.
 */
export class SegmentationWriter implements PredictionWriter {
  private readonly rows: string[][] = [];

  constructor(
    private readonly out: string,
    private readonly classes: number,
  ) {}

  async write(p: Predicted): Promise<void> {
    const stem = outputStem(p.item.name);
    const masks = p.logits.map((l) => argmaxMask(l, this.classes));
    const { volume, units } = p.loaded;
    if (volume === undefined) {
      const { display } = units[0]!;
      await writeOutput(this.out, `${stem}.mask.png`, maskPng(masks[0]!, display.height, display.width, this.classes));
      await writeOutput(this.out, `${stem}.overlay.png`, overlayPng(display, masks[0]!));
      this.rows.push([p.item.name, foregroundFraction(masks[0]!).toFixed(6)]);
      return;
    }
    const whole = new Uint8Array(masks.reduce((a, m) => a + m.length, 0));
    masks.forEach((m, z) => whole.set(m, z * m.length));
    const nifti = encodeNiftiMask(volume.bytes, whole, this.classes, p.item.name);
    await writeOutput(this.out, `${stem}.mask.nii${isGzip(nifti) ? '.gz' : ''}`, nifti);
    const digits = String(masks.length - 1).length;
    for (const [z, m] of masks.entries())
      if (m.some((k) => k > 0))
        await writeOutput(this.out, `${stem}.z${String(z).padStart(digits, '0')}.overlay.png`, overlayPng(units[z]!.display, m));
    this.rows.push([p.item.name, foregroundFraction(whole).toFixed(6)]);
  }

  finish(): Promise<string> {
    return writePredictionsCsv(this.out, ['file', 'foreground_fraction'], this.rows);
  }
}

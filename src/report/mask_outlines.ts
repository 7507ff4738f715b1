import type { Image } from '../data/sample.js';
import { esc } from './html.js';
import { pngDataUri } from './png.js';

/** One test image with its true and predicted masks (H x W class indices; 0 is background). */
export interface MaskExample {
  /** Position in the site's test split. */
  index: number;
  image: Image;
  truth: Uint8Array;
  predicted: Uint8Array;
  /** The test metric (the reference's Dice) on this image alone. */
  dice: number;
}

/** A site's first test images with their masks. */
export interface SiteMasks {
  site: string;
  examples: MaskExample[];
}

type Rgb = readonly [number, number, number];
// Green and magenta stay apart for the common red-green colour deficiencies; yellow where both agree.
const TRUTH: Rgb = [0, 210, 0];
const PREDICTED: Rgb = [255, 0, 255];
const BOTH: Rgb = [255, 225, 0];
const css = (c: Rgb): string => `rgb(${c.join(',')})`;

/**
 * The image with the outlines of both masks drawn on it, as a PNG data URI. The image is enlarged
 * (nearest neighbour, by a whole factor, to at least `minSide` pixels) before the outlines are
 * drawn, so that lines stay thin beside small structures; intensities are stretched to the
 * image's own range, as MRI and pathology images have no common display scale.
 */
export function outlineOverlay(example: MaskExample, minSide = 160): string {
  const { image, truth, predicted } = example;
  const { height: h, width: w, channels: c } = image;
  const k = Math.max(1, Math.ceil(minSide / Math.max(h, w)));
  const [H, W] = [h * k, w * k];
  const radius = k >= 4 ? 2 : 1;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of image.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const stretch = (v: number): number => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 128);
  // Inside edge of a mask: a foreground pixel with a differently labelled pixel within `radius`.
  // Outside the image counts as background, so a mask that fills the image is still outlined.
  const onEdge = (mask: Uint8Array, Y: number, X: number): boolean => {
    const at = (y: number, x: number): number =>
      y >= 0 && y < H && x >= 0 && x < W ? mask[Math.floor(y / k) * w + Math.floor(x / k)]! : 0;
    const label = at(Y, X);
    if (label === 0) return false;
    for (let d = 1; d <= radius; d++) {
      for (const [y, x] of [
        [Y - d, X],
        [Y + d, X],
        [Y, X - d],
        [Y, X + d],
      ] as const)
        if (at(y, x) !== label) return true;
    }
    return false;
  };
  const out = new Uint8Array(H * W * 3);
  for (let Y = 0; Y < H; Y++) {
    for (let X = 0; X < W; X++) {
      const src = (Math.floor(Y / k) * w + Math.floor(X / k)) * c;
      const [t, p] = [onEdge(truth, Y, X), onEdge(predicted, Y, X)];
      const color: readonly number[] =
        t && p ? BOTH : t ? TRUTH : p ? PREDICTED : [0, 1, 2].map((ch) => stretch(image.data[src + Math.min(ch, c - 1)]!));
      out.set(color, (Y * W + X) * 3);
    }
  }
  return pngDataUri(out, H, W, 3);
}

/** A table of test images, a row per site and image, a column per strategy, each with both outlines and its Dice. */
export function outlinesHtml(masks: ReadonlyMap<string, readonly SiteMasks[]>): string {
  const strategies = [...masks.keys()];
  const first = masks.get(strategies[0]!) ?? [];
  const cell = (strategy: string, site: string, index: number): string => {
    const example = masks
      .get(strategy)
      ?.find((s) => s.site === site)
      ?.examples.find((e) => e.index === index);
    if (example === undefined) return '<td></td>';
    return `<td><figure><img src="${outlineOverlay(example)}" alt="${esc(`${strategy}, ${site} test image ${index}`)}"><figcaption>Dice ${(example.dice * 100).toFixed(1)}%</figcaption></figure></td>`;
  };
  const swatch = (c: Rgb, label: string): string => `<span class="swatch" style="background:${css(c)}"></span>${label}`;
  const rows = first.flatMap(({ site, examples }) =>
    examples.map(
      (e) =>
        `<tr><th>${esc(site)}<br><small>test image ${e.index}</small></th>${strategies.map((s) => cell(s, site, e.index)).join('')}</tr>`,
    ),
  );
  return `<h2>Test images: predicted and true masks</h2>
<p class="legend">Outlines: ${swatch(TRUTH, 'true mask')} ${swatch(PREDICTED, 'predicted by the strategy')} ${swatch(BOTH, 'both agree')}. Each strategy's best model, with its batch statistics as in testing; under each, the test metric (Dice, background included) on that image.</p>
<table class="masks"><tr><th></th>${strategies.map((s) => `<th>${esc(s)}</th>`).join('')}</tr>
${rows.join('\n')}
</table>`;
}

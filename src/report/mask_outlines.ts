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
 * The image with the outlines of both masks drawn on it, as a PNG data URI of about `side`
 * pixels on its longer side: small images are enlarged by a whole factor (nearest neighbour)
 * before the outlines are drawn, so lines stay thin beside small structures, and large ones
 * reduced. Intensities are stretched to the image's own range, as MRI and pathology images
 * have no common display scale.
 */
function outlineOverlay(example: MaskExample, side = 128): string {
  const { image, truth, predicted } = example;
  const { height: h, width: w, channels: c } = image;
  const longer = Math.max(h, w);
  const f = longer <= side ? Math.ceil(side / longer) : side / longer;
  const [H, W] = [Math.round(h * f), Math.round(w * f)];
  const source = (Y: number, X: number): number => Math.min(h - 1, Math.floor(Y / f)) * w + Math.min(w - 1, Math.floor(X / f));
  // The truth's line is drawn thicker than the prediction's: it is what to read the prediction against.
  const truthWidth = f >= 3 ? 2 : 1;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of image.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const stretch = (v: number): number => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 128);
  // Inside edge of a mask: a foreground pixel with a differently labelled pixel within `radius`.
  // Outside the image counts as background, so a mask that fills the image is still outlined.
  const onEdge = (mask: Uint8Array, Y: number, X: number, radius: number): boolean => {
    const at = (y: number, x: number): number => (y >= 0 && y < H && x >= 0 && x < W ? mask[source(y, x)]! : 0);
    const label = at(Y, X);
    if (label === 0) return false;
    for (let d = 1; d <= radius; d++) {
      if (at(Y - d, X) !== label || at(Y + d, X) !== label || at(Y, X - d) !== label || at(Y, X + d) !== label) return true;
    }
    return false;
  };
  const out = new Uint8Array(H * W * 3);
  for (let Y = 0; Y < H; Y++) {
    for (let X = 0; X < W; X++) {
      const src = source(Y, X) * c;
      const [t, p] = [onEdge(truth, Y, X, truthWidth), onEdge(predicted, Y, X, 1)];
      const color: readonly number[] =
        t && p ? BOTH : t ? TRUTH : p ? PREDICTED : [0, 1, 2].map((ch) => stretch(image.data[src + Math.min(ch, c - 1)]!));
      out.set(color, (Y * W + X) * 3);
    }
  }
  return pngDataUri(out, H, W, 3);
}

/** A row per site; for each of its first test images, one picture per strategy side by side, each with both outlines and its Dice. */
export function outlinesHtml(masks: ReadonlyMap<string, readonly SiteMasks[]>): string {
  const strategies = [...masks.keys()];
  const first = masks.get(strategies[0]!) ?? [];
  const images = Math.max(0, ...first.map((s) => s.examples.length));
  const cell = (strategy: string, site: string, index: number): string => {
    const example = masks
      .get(strategy)
      ?.find((s) => s.site === site)
      ?.examples.find((e) => e.index === index);
    if (example === undefined) return '<td></td>';
    return `<td${index > 0 && strategy === strategies[0] ? ' class="group"' : ''}><figure><img src="${outlineOverlay(example)}" alt="${esc(`${strategy}, ${site} test image ${index}`)}"><figcaption>Dice ${(example.dice * 100).toFixed(1)}%</figcaption></figure></td>`;
  };
  const swatch = (c: Rgb, label: string): string => `<span class="swatch" style="background:${css(c)}"></span>${label}`;
  const indices = Array.from({ length: images }, (_, i) => i);
  const head = `<tr><th rowspan="2">site</th>${indices.map((i) => `<th colspan="${strategies.length}"${i > 0 ? ' class="group"' : ''}>test image ${i}</th>`).join('')}</tr>
<tr>${indices.map((i) => strategies.map((s, k) => `<th${i > 0 && k === 0 ? ' class="group"' : ''}>${esc(s)}</th>`).join('')).join('')}</tr>`;
  const rows = first.map(
    ({ site }) => `<tr><th>${esc(site)}</th>${indices.map((i) => strategies.map((s) => cell(s, site, i)).join('')).join('')}</tr>`,
  );
  return `<h2>Test images: predicted and true masks</h2>
<p class="legend">Outlines: ${swatch(TRUTH, 'true mask')} ${swatch(PREDICTED, 'predicted')} ${swatch(BOTH, 'both agree')}. Each strategy's best model (its first seed's) on the first test images of each site, with batch statistics as in testing; under each, the test metric (Dice, background included) on that image.</p>
<table class="masks">${head}
${rows.join('\n')}
</table>`;
}

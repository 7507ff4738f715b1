import * as tf from '@tensorflow/tfjs-core';
import type { Federation } from '../data/manifest.js';
import { toNamedArrays, type NamedArrays } from '../engine/named_arrays.js';
import { Rng } from '../engine/rng.js';
import { batches } from '../fl/batches.js';
import { ModelCache } from '../fl/model_cache.js';
import { loadModel } from '../harmofl/model_file.js';
import { diceCoefficient } from '../losses/dice.js';
import { confusionHtml, type SiteClasses } from './confusion.js';
import { outlinesHtml, type SiteMasks } from './mask_outlines.js';

/** What a model predicted on every site's test split: every class, or the first images' masks. */
export type TestPredictions =
  { task: 'classification'; numClasses: number; sites: SiteClasses[] } | { task: 'segmentation'; sites: SiteMasks[] };

/**
 * Runs the model saved in `modelFile` on every site's test split as testing does (batches of
 * `batch` in split order, since BatchNorm normalizes with the batch; each site with its own
 * entries from `siteEntries`, FedBN's normalization): every image's class (classification), or
 * the masks of the first `examples` images (segmentation).
 */
export async function predictTestSplits(
  modelFile: string,
  fed: Federation,
  batch: number,
  siteEntries: ReadonlyMap<string, NamedArrays>,
  examples = 2,
): Promise<TestPredictions> {
  const saved = await loadModel(modelFile, new Rng(0));
  const state = toNamedArrays(saved.params.state());
  const ref = { config: saved.config, amp: saved.inputNorm.options };
  saved.dispose();
  const models = new ModelCache();
  try {
    const classes: SiteClasses[] = [];
    const masks: SiteMasks[] = [];
    for (const site of fed.sites) {
      const model = models.get('report', ref, { ...state, ...siteEntries.get(site.name) }, true);
      const wanted = fed.task === 'classification' ? site.test.size : Math.min(examples, site.test.size);
      const predicted: Array<number | Uint8Array> = [];
      // Each pictured image's Dice, by the same function that scores the test split.
      const dice: number[] = [];
      for await (const b of batches(site.test, fed, batch)) {
        const logits = tf.tidy(() => model.forward(b.x, false));
        const labels = tf.tidy(() => tf.argMax(logits, -1));
        const values = labels.dataSync();
        const per = values.length / b.size;
        for (let i = 0; i < b.size; i++) {
          predicted.push(per === 1 ? values[i]! : Uint8Array.from(values.subarray(i * per, (i + 1) * per)));
          if (fed.task === 'segmentation' && dice.length < wanted)
            dice.push(
              tf.tidy(() =>
                diceCoefficient(
                  tf.slice(logits, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D,
                  tf.slice(b.y, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D,
                ),
              ),
            );
        }
        tf.dispose([logits, labels, b.x, b.y]);
        if (predicted.length >= wanted) break;
      }
      if (fed.task === 'classification') {
        const truth = await Promise.all(
          Array.from({ length: site.test.size }, async (_, i) => site.test.labelOf(i) ?? ((await site.test.get(i)).label as number)),
        );
        classes.push({ site: site.name, truth, predicted: predicted as number[] });
      } else {
        const picked = await Promise.all(Array.from({ length: wanted }, (_, i) => site.test.get(i)));
        masks.push({
          site: site.name,
          examples: picked.map((s, i) => ({
            index: i,
            image: s.image,
            truth: s.label as Uint8Array,
            predicted: predicted[i] as Uint8Array,
            dice: dice[i]!,
          })),
        });
      }
    }
    return fed.task === 'classification'
      ? { task: 'classification', numClasses: fed.numClasses, sites: classes }
      : { task: 'segmentation', sites: masks };
  } finally {
    models.dispose();
  }
}

/** The report section for each strategy's test predictions: confusion matrices, or images with mask outlines. */
export function predictionsHtml(predictions: ReadonlyMap<string, TestPredictions>): string {
  const first = [...predictions.values()][0];
  if (first === undefined) return '';
  if (first.task === 'classification') {
    const classes = new Map([...predictions].flatMap(([s, p]) => (p.task === 'classification' ? [[s, p.sites] as const] : [])));
    return confusionHtml(classes, first.numClasses);
  }
  return outlinesHtml(new Map([...predictions].flatMap(([s, p]) => (p.task === 'segmentation' ? [[s, p.sites] as const] : []))));
}

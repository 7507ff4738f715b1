import * as tf from '@tensorflow/tfjs-core';
import type { Task } from '../data/manifest.js';
import { Rng } from '../engine/rng.js';
import { accuracy } from '../losses/classification.js';
import { diceCoefficient } from '../losses/dice.js';
import type { Normalization } from '../nn/batch_norm.js';
import { isCalibrated, setNormalization } from '../nn/calibrate.js';
import type { Model } from '../nn/model.js';
import { loadAnyModel } from '../harmofl/model_safetensors.js';
import { inputBatches, type InputBatch } from './batches.js';
import { calibrateOn } from './calibration_data.js';
import { ClassificationWriter } from './classification_writer.js';
import { discoverInputs, type InputItem } from './inputs.js';
import type { PredictionWriter } from './output.js';
import { Progress } from './progress.js';
import { SegmentationWriter } from './segmentation_writer.js';

/** What `harmofl predict` runs. */
export interface PredictOptions {
  /** A .hflm or .safetensors model file. */
  modelFile: string;
  input: string;
  out: string;
  batch: number;
  /** Only this site of a federation input (and of federation calibration data). */
  site?: string;
  norm: Normalization;
  /** Where calibrated mode computes its statistics; without it, the model file's own. */
  calibrateData?: string;
  /** Images per calibration batch (they normalize with batch statistics, as in training). */
  calibrateBatch: number;
  /** A federation's split seed. */
  seed?: number;
  warn: (message: string) => void;
}

/** An input that was skipped, and why. */
export interface Failure {
  input: string;
  reason: string;
}

/** The test metric of a federation site (accuracy or the reference's Dice). */
export interface SiteMetric {
  site: string;
  images: number;
  value: number;
}

/** What a prediction run did. */
export interface PredictReport {
  task: Task;
  inputs: number;
  images: number;
  seconds: number;
  failures: Failure[];
  /** Federation inputs only: the test metric per site. */
  metrics: SiteMetric[];
  /** Images the calibration pass used (calibrated mode with --calibrate-data). */
  calibrationImages?: number;
  predictions: string;
}

const taskOf = (model: Model): Task => (model.config.kind === 'densenet' ? 'classification' : 'segmentation');
const classesOf = (model: Model): number => (model.config.kind === 'densenet' ? model.config.numClasses : model.config.outChannels);

/** The batch's metric when every image has a label (federation inputs), as `harmofl test` computes it. */
function batchMetric(task: Task, b: InputBatch, logits: tf.Tensor): number | undefined {
  const labels = b.entries.map((e) => e.pending.loaded.units[e.index]!.label);
  if (labels.some((l) => l === undefined)) return undefined;
  if (task === 'classification') {
    const y = tf.tensor1d(labels as number[], 'int32');
    const value = accuracy(logits as tf.Tensor2D, y);
    y.dispose();
    return value;
  }
  const [n, h, w] = b.x.shape;
  const masks = new Int32Array(n * h * w);
  labels.forEach((l, i) => masks.set(l as Uint8Array, i * h * w));
  const y = tf.tensor3d(masks, [n, h, w], 'int32');
  const value = diceCoefficient(logits as tf.Tensor4D, y);
  y.dispose();
  return value;
}

/** Prepares calibrated mode: statistics from `calibrateData` when given, else the model file's own. */
async function prepareNormalization(model: Model, o: PredictOptions): Promise<number | undefined> {
  if (o.norm === 'batch') return undefined;
  let images: number | undefined;
  if (o.calibrateData !== undefined)
    images = await calibrateOn(model, o.calibrateData, {
      batch: o.calibrateBatch,
      ...(o.site === undefined ? {} : { site: o.site }),
      seed: o.seed ?? 0,
      warn: o.warn,
    });
  else if (!isCalibrated(model))
    throw new Error(
      `--norm calibrated: ${o.modelFile} holds no calibration statistics; give --calibrate-data DIR (a federation's training data or a folder of images)`,
    );
  setNormalization(model, 'calibrated');
  return images;
}

/**
 * Predicts every input under `o.input` with the model, writing each input's outputs as soon as its
 * images are through, then predictions.csv. Bad inputs are skipped and reported, never fatal.
 */
export async function runPrediction(o: PredictOptions): Promise<PredictReport> {
  const model = await loadAnyModel(o.modelFile, new Rng(0), { warn: o.warn });
  try {
    const task = taskOf(model);
    const calibrationImages = await prepareNormalization(model, o);
    const { items, task: inputTask } = await discoverInputs(o.input, {
      split: 'test',
      ...(o.site === undefined ? {} : { site: o.site }),
      seed: o.seed ?? 0,
    });
    if (inputTask !== undefined && inputTask !== task)
      throw new Error(`${o.input} is a ${inputTask} federation; ${o.modelFile} is a ${task} model`);
    const writer: PredictionWriter =
      task === 'classification' ? new ClassificationWriter(o.out, classesOf(model)) : new SegmentationWriter(o.out, classesOf(model));
    const failures: Failure[] = [];
    const fail = (item: InputItem, reason: string): void => {
      failures.push({ input: item.name, reason });
    };
    const metricSums = new Map<string, { sum: number; images: number }>();
    const progress = new Progress(items.length);
    let images = 0;
    const start = performance.now();
    for await (const b of inputBatches(items, model, o.batch, (item, why) => {
      fail(item, why);
      progress.tick(0);
    })) {
      const logits = tf.tidy(() => model.forward(b.x, false));
      const metric = batchMetric(task, b, logits);
      if (metric !== undefined) {
        const site = b.entries[0]!.pending.item.group;
        const s = metricSums.get(site) ?? { sum: 0, images: 0 };
        metricSums.set(site, { sum: s.sum + metric * b.entries.length, images: s.images + b.entries.length });
      }
      const data = logits.dataSync() as Float32Array;
      const per = data.length / b.entries.length;
      tf.dispose([logits, b.x]);
      images += b.entries.length;
      for (const [i, { pending, index }] of b.entries.entries()) {
        pending.logits[index] = data.slice(i * per, (i + 1) * per);
        if (--pending.remaining > 0) continue;
        try {
          await writer.write(pending);
        } catch (e) {
          fail(pending.item, `cannot write its outputs (${e instanceof Error ? e.message : String(e)})`);
        }
        progress.tick(pending.loaded.units.length);
      }
    }
    progress.finish();
    const seconds = (performance.now() - start) / 1000;
    const predictions = await writer.finish();
    const metrics = [...metricSums].map(([site, s]) => ({ site, images: s.images, value: s.sum / s.images }));
    return {
      task,
      inputs: items.length,
      images,
      seconds,
      failures,
      metrics,
      ...(calibrationImages === undefined ? {} : { calibrationImages }),
      predictions,
    };
  } finally {
    model.dispose();
  }
}

import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../nn/model.js';
import type { InputItem, LoadedInput } from './inputs.js';

/** A loaded input waiting for its images' logits. */
export interface Pending {
  item: InputItem;
  loaded: LoadedInput;
  logits: Float32Array[];
  remaining: number;
}

/** A batch of images from one or more inputs, stacked for the model. */
export interface InputBatch {
  entries: Array<{ pending: Pending; index: number }>;
  x: tf.Tensor4D;
}

/** Why `loaded` cannot go through `model` (another task, channel count or size), or undefined. */
function inputProblem(model: Model, item: InputItem, loaded: LoadedInput): string | undefined {
  const [c, h, w] = model.config.inputShape;
  if (item.kind === 'volume' && model.config.kind !== 'unet')
    return 'a NIfTI volume needs a segmentation model; this one is a densenet classifier';
  const image = loaded.units[0]?.image;
  if (image === undefined) return 'holds no image';
  if (image.channels !== c) return `has ${image.channels} channel(s), the model takes ${c}`;
  if (image.height !== h || image.width !== w) return `is ${image.width}x${image.height}, the model takes ${w}x${h}`;
  return undefined;
}

function stack(entries: InputBatch['entries']): InputBatch {
  const first = entries[0]!.pending.loaded.units[entries[0]!.index]!.image;
  const plane = first.data.length;
  const x = new Float32Array(entries.length * plane);
  entries.forEach((e, i) => x.set(e.pending.loaded.units[e.index]!.image.data, i * plane));
  return { entries, x: tf.tensor4d(x, [entries.length, first.height, first.width, first.channels]) };
}

/**
 * Loads `items` one at a time and yields batches of up to `size` images, never mixing groups (a
 * federation's sites). An input that fails to load or does not fit the model goes to `onFailure`
 * and is skipped. Only one input's images beyond the current batch are held at a time.
 */
export async function* inputBatches(
  items: InputItem[],
  model: Model,
  size: number,
  onFailure: (item: InputItem, why: string) => void,
): AsyncGenerator<InputBatch> {
  let queue: InputBatch['entries'] = [];
  let group: string | undefined;
  for (const item of items) {
    let loaded: LoadedInput;
    try {
      loaded = await item.load();
    } catch (e) {
      onFailure(item, e instanceof Error ? e.message : String(e));
      continue;
    }
    const problem = inputProblem(model, item, loaded);
    if (problem !== undefined) {
      onFailure(item, problem);
      continue;
    }
    if (item.group !== group && queue.length > 0) {
      yield stack(queue);
      queue = [];
    }
    group = item.group;
    const pending: Pending = { item, loaded, logits: [], remaining: loaded.units.length };
    for (let index = 0; index < loaded.units.length; index++) {
      queue.push({ pending, index });
      if (queue.length === size) {
        yield stack(queue);
        queue = [];
      }
    }
  }
  if (queue.length > 0) yield stack(queue);
}

import type { Model } from '../nn/model.js';
import { calibrate } from '../nn/calibrate.js';
import { inputBatches } from './batches.js';
import { discoverInputs } from './inputs.js';

/**
 * Calibrates `model`'s BatchNorm on `dir`: a federation's training splits (every site's, or
 * `site`'s; batches stay within a site, as in training), or any images or volumes predict reads.
 * Inputs that do not load or fit are skipped with a warning. Returns the number of images used.
 */
export async function calibrateOn(
  model: Model,
  dir: string,
  options: { batch: number; site?: string; seed?: number; warn: (message: string) => void },
): Promise<number> {
  const { items } = await discoverInputs(dir, {
    split: 'train',
    ...(options.site === undefined ? {} : { site: options.site }),
    seed: options.seed ?? 0,
  });
  const xs = async function* () {
    for await (const b of inputBatches(items, model, options.batch, (item, why) => options.warn(`calibration skips ${item.name}: ${why}`)))
      yield b.x;
  };
  return calibrate(model, xs());
}

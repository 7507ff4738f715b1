import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/rng.js';
import type { RunSpec } from '../fl/run_spec.js';
import { createModel } from '../harmofl/create_model.js';
import { encodeNpy } from './npy.js';

/** The index file of an exported state: state_dict names in the model's order. */
const STATE_INDEX = 'state_dict.json';

/**
 * Writes the run's initial model (the one `harmofl train` starts from with the same seed) as a
 * PyTorch state_dict a Python ServerApp can load without harmofl: `state_dict.json` lists the
 * names in order, `0000.npy`, `0001.npy`, ... hold the arrays in PyTorch layouts. Returns the count.
 */
export async function exportInitialArrays(spec: RunSpec, seed: number, dir: string): Promise<number> {
  const model = createModel(spec.model.config, new Rng(seed), spec.model.amp);
  const dict = model.params.torchStateDict();
  try {
    await mkdir(dir, { recursive: true });
    const names = [...dict.keys()];
    for (const [i, name] of names.entries()) {
      const t = dict.get(name)!;
      await writeFile(
        path.join(dir, `${String(i).padStart(4, '0')}.npy`),
        encodeNpy({ dtype: 'float32', shape: t.shape.slice(), data: Float32Array.from(t.dataSync()) }),
      );
    }
    await writeFile(path.join(dir, STATE_INDEX), `${JSON.stringify({ names }, null, 1)}\n`);
    return names.length;
  } finally {
    tf.dispose([...dict.values()]);
    model.dispose();
  }
}

import { tempDir } from '../temp_dir.js';
import { writeSyntheticFederations, type SynthOptions } from '../../src/data/synthetic.js';
import { initBackend } from '../../src/engine/node_backend.js';
import { WorkerPool } from '../../src/engine/worker_pool.js';
import { SIMULATION_TASKS } from '../../src/fl/simulate.js';
import type { SimulationTasks } from '../../src/fl/simulation_tasks.js';

/** The end-to-end tests' federations: two sites of 16x16 images, small enough for two rounds in seconds. */
export const TINY_SYNTH: Partial<SynthOptions> = {
  sites: 2,
  patchesPerSite: 12,
  patchSize: 16,
  casesPerSite: 1,
  volumeSize: 16,
  slices: 6,
  imagesPerSite: 8,
  imageSize: 16,
  seed: 1,
};

/** The tiny synthetic federations under a new temporary folder (`more` enlarges them where a test needs it) and a ready two-worker wasm pool. */
export async function tinyFederations(
  prefix: string,
  more: Partial<SynthOptions> = {},
): Promise<{ dirs: Record<'camelyon' | 'prostate' | 'nuclei', string>; pool: WorkerPool<SimulationTasks> }> {
  await initBackend('wasm');
  const dirs = await writeSyntheticFederations(await tempDir(prefix), { ...TINY_SYNTH, ...more });
  const pool = new WorkerPool<SimulationTasks>(2, SIMULATION_TASKS, 'wasm');
  await pool.ready();
  return { dirs, pool };
}

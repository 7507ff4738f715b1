import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from './kernels/register.js';
// The tfjs bundle registers every op's gradient on the shared tfjs-core (tfjs-core's own CJS entry does not).
import '@tensorflow/tfjs';

/** Backends a user can ask for; `auto` prefers native TensorFlow when it is installed. */
export type BackendChoice = 'auto' | 'wasm' | 'tensorflow' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'tensorflow', 'cpu'];

/** What `initBackend` settled on. */
export interface BackendInfo {
  name: string;
  detail: string;
}

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

/** Loads the TensorFlow native bindings if a user installed them (GPU build first). */
async function loadNative(): Promise<string | undefined> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (await tryImport(pkg)) return pkg;
  }
  return undefined;
}

/** Selects and initialises the compute backend, registering our training kernels where needed. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  let name: string;
  let detail: string;
  if (choice === 'auto' || choice === 'tensorflow') {
    const pkg = await loadNative();
    if (pkg !== undefined) {
      name = 'tensorflow';
      detail = `native TensorFlow via ${pkg}`;
    } else if (choice === 'tensorflow') {
      throw new Error('backend "tensorflow" needs @tensorflow/tfjs-node (or -gpu): npm install @tensorflow/tfjs-node');
    } else {
      name = 'wasm';
      detail = 'WebAssembly + XNNPACK (SIMD), harmofl conv-gradient kernels';
    }
  } else {
    name = choice;
    detail = choice === 'wasm' ? 'WebAssembly + XNNPACK (SIMD), harmofl conv-gradient kernels' : 'plain JavaScript (slow; for checks)';
  }
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  registerTrainingKernels(name);
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  return { name, detail };
}

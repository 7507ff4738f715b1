import { readFileSync } from 'node:fs';
import { initEngine, type BackendChoice, type BackendInfo } from './backend.js';

const SIMD_FILE = new URL('../../wasm/conv_kernels.wasm', import.meta.url);

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
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) if (await tryImport(pkg)) return pkg;
  return undefined;
}

/** The SIMD kernels compiled at install, read from the package's `dist/wasm`. */
function simdModuleBytes(): Uint8Array {
  try {
    return readFileSync(SIMD_FILE);
  } catch (e) {
    throw new Error(`cannot read ${SIMD_FILE.pathname} (${(e as Error).message}); run \`npm run build\` to compile assembly/`);
  }
}

/** Selects and initialises the compute backend in Node: native TensorFlow when installed (`auto`), else wasm with our SIMD kernels read from disk. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const nativePackage = choice === 'auto' || choice === 'tensorflow' ? await loadNative() : undefined;
  return initEngine(choice, {
    ...(nativePackage !== undefined ? { nativePackage } : {}),
    ...(nativePackage === undefined && choice !== 'cpu' ? { simdModule: simdModuleBytes() } : {}),
  });
}

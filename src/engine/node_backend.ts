import { readFileSync } from 'node:fs';
import os from 'node:os';
import { initEngine, type BackendChoice, type BackendInfo } from './backend.js';
import { kernelChoiceFromEnv, loadNativeKernels, type KernelChoice } from './native_addon.js';

const SIMD_FILE = new URL('../../wasm/conv_kernels.wasm', import.meta.url);

/** Node-side engine settings beside the backend. */
export interface NodeEngineOptions {
  /** Threads each heap-kernel call uses (native kernels only); default 1. */
  threads?: number;
  /** Native or WebAssembly heap kernels; default `HARMOFL_KERNELS` or `auto`. */
  kernels?: KernelChoice;
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

/** The default kernel threads of one client: every core, shared evenly among `clients` parallel clients. */
export function defaultThreads(clients = 1): number {
  return Math.max(1, Math.floor(os.availableParallelism() / clients));
}

/**
 * Selects and initialises the compute backend in Node: native TensorFlow when installed (`auto`),
 * else wasm with our heap kernels: native (C++, AVX2/AVX-512, threads) where built, else the SIMD
 * module read from disk.
 */
export async function initBackend(choice: BackendChoice = 'auto', options: NodeEngineOptions = {}): Promise<BackendInfo> {
  const nativePackage = choice === 'auto' || choice === 'tensorflow' ? await loadNative() : undefined;
  const usesHeapKernels = nativePackage === undefined && choice !== 'cpu';
  const native = usesHeapKernels ? loadNativeKernels(options.kernels ?? kernelChoiceFromEnv()) : undefined;
  return initEngine(choice, {
    ...(nativePackage !== undefined ? { nativePackage } : {}),
    ...(usesHeapKernels ? { simdModule: simdModuleBytes() } : {}),
    ...(native !== undefined ? { heapKernels: native } : {}),
    threads: options.threads ?? 1,
  });
}

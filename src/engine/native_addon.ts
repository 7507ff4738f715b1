import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { NativeKernelAddon } from './heap_kernels.js';

/** Which heap kernels to run: `auto` takes the native ones where they were built and this CPU runs them. */
export type KernelChoice = 'auto' | 'native' | 'wasm';
export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'native', 'wasm'];

/** Built at install by `scripts/build-native.mjs` (node-gyp), when a C++ compiler is there. */
const ADDON_FILE = fileURLToPath(new URL('../../../native/build/Release/harmofl_kernels.node', import.meta.url));

/** The native kernels, or why they are not used (said at start and by `harmofl info`). */
export interface NativeKernelsLoad {
  addon?: NativeKernelAddon;
  reason: string;
}

/** The kernel choice from `HARMOFL_KERNELS` (default `auto`), checked. */
export function kernelChoiceFromEnv(env: NodeJS.ProcessEnv = process.env): KernelChoice {
  const value = env['HARMOFL_KERNELS'] ?? 'auto';
  if (!(KERNEL_CHOICES as readonly string[]).includes(value))
    throw new Error(`HARMOFL_KERNELS must be one of ${KERNEL_CHOICES.join(', ')}, got "${value}"`);
  return value as KernelChoice;
}

/** Loads the native kernels unless `choice` is `wasm`; `native` throws where they cannot run. */
export function loadNativeKernels(choice: KernelChoice, file = ADDON_FILE): NativeKernelsLoad {
  if (choice === 'wasm') return { reason: 'WebAssembly kernels chosen (HARMOFL_KERNELS=wasm)' };
  let addon: NativeKernelAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeKernelAddon;
  } catch (e) {
    const reason = `native kernels not built (${file}: ${(e as Error).message.split('\n')[0]}); they build at npm install where a C++ compiler is found: npm rebuild harmofl, or npm run build:native in a checkout`;
    if (choice === 'native') throw new Error(reason);
    return { reason };
  }
  const description = addon.describe();
  if (description.isa === undefined) {
    const reason = `native kernels cannot run here: ${description.unsupported ?? 'unknown reason'}`;
    if (choice === 'native') throw new Error(reason);
    return { reason };
  }
  return { addon, reason: `native ${description.isa} kernels (${file})` };
}

import { existsSync } from 'node:fs';
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
    if (!existsSync(file))
      throw new Error(
        `native kernels not built (no ${file}); npm install builds them where a C++ compiler is found (npm run build:native in a checkout)`,
      );
    addon = createRequire(import.meta.url)(file) as NativeKernelAddon;
  } catch (e) {
    const message = (e as Error).message.split('\n')[0]!;
    const reason = message.startsWith('native kernels') ? message : `native kernels failed to load (${file}: ${message})`;
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

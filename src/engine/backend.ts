import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from './kernels/register.js';
import { hasSimdModule, provideSimdModule } from './simd_module.js';
import { kernelThreads, provideNativeKernels, setKernelThreads, type NativeKernelAddon } from './heap_kernels.js';
// The tfjs bundle registers every op's gradient on the shared tfjs-core (tfjs-core's own CJS entry does not).
import '@tensorflow/tfjs';

/** Backends a user can ask for; `auto` prefers native TensorFlow when it is installed. */
export type BackendChoice = 'auto' | 'wasm' | 'tensorflow' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'tensorflow', 'cpu'];

/** What `initBackend` settled on. */
export interface BackendInfo {
  name: string;
  detail: string;
  /** With the wasm backend: which heap kernels run and why. */
  heapKernels?: string;
}

/** What the portable engine needs from its platform. */
export interface EngineOptions {
  /** Our compiled SIMD kernels; without them the wasm backend cannot train convolutions. */
  simdModule?: Uint8Array | WebAssembly.Module;
  /** Set when a native TensorFlow backend was registered by the platform (tfjs-node); its package name. */
  nativePackage?: string;
  /** Native heap kernels the platform loaded (or not, and why); without an addon the SIMD module runs them. */
  heapKernels?: { addon?: NativeKernelAddon; reason: string };
  /** Threads each native heap-kernel call uses (default 1). */
  threads?: number;
}

const KERNELS = 'harmofl kernels for convolutions, their gradients, BatchNorm, pooling gradients, copies';

/** Selects and initialises the compute backend, registering our training kernels where needed (portable: no file or native access). */
export async function initEngine(choice: BackendChoice = 'auto', options: EngineOptions = {}): Promise<BackendInfo> {
  let name: string;
  let detail: string;
  let heapKernels: string | undefined;
  if ((choice === 'auto' || choice === 'tensorflow') && options.nativePackage !== undefined) {
    name = 'tensorflow';
    detail = `native TensorFlow via ${options.nativePackage}`;
  } else if (choice === 'tensorflow') {
    throw new Error('backend "tensorflow" needs @tensorflow/tfjs-node (or -gpu): npm install @tensorflow/tfjs-node');
  } else if (choice === 'cpu') {
    name = 'cpu';
    detail = 'plain JavaScript (slow; for checks)';
  } else {
    name = 'wasm';
    detail = '';
  }
  if (name === 'wasm') {
    if (options.simdModule !== undefined) provideSimdModule(options.simdModule);
    else if (!hasSimdModule())
      throw new Error("the wasm backend needs harmofl's SIMD kernels: pass simdModule (the bytes of dist/wasm/conv_kernels.wasm)");
    await import('@tensorflow/tfjs-backend-wasm');
    provideNativeKernels(options.heapKernels?.addon);
    setKernelThreads(options.threads ?? 1);
    heapKernels = options.heapKernels?.reason ?? 'WebAssembly SIMD kernels';
    detail =
      options.heapKernels?.addon !== undefined
        ? `tfjs-wasm with ${KERNELS}: ${heapKernels}, ${kernelThreads()} thread(s) per call`
        : `WebAssembly SIMD: ${KERNELS}, 1 thread${options.heapKernels !== undefined ? ` (${heapKernels})` : ''}`;
  }
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  registerTrainingKernels(name);
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  return { name, detail, ...(heapKernels !== undefined ? { heapKernels } : {}) };
}

import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { readCpuInfo, simdFlags } from '../engine/cpu_info.js';
import { kernelThreads } from '../engine/heap_kernels.js';
import { addBackendOption, initCommandBackend, type BackendOptions } from './options.js';

/** `harmofl info`: the CPU, which compute backend and which heap kernels this machine gets and why, and the tfjs version. */
export function registerInfo(program: Command): void {
  addBackendOption(
    program.command('info').description('print the CPU, the compute backend and the kernels this machine uses, and why'),
  ).action(async (opts: BackendOptions) => {
    const info = await initCommandBackend(opts);
    const cpu = readCpuInfo();
    const kernels = info.heapKernels ?? 'none (the backend runs its own kernels)';
    process.stdout.write(
      [
        `cpu: ${cpu.model} (${cpu.cores} cores, ${simdFlags(cpu)})`,
        `backend: ${info.name} (${info.detail}); tfjs-core ${tf.version_core}`,
        `heap kernels: ${kernels}`,
        `threads per client: ${kernelThreads()} (--threads sets it for the native kernels; HARMOFL_KERNELS=auto|native|wasm chooses the kernels)`,
      ].join('\n') + '\n',
    );
  });
}

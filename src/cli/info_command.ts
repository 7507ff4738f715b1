import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../engine/node_backend.js';
import type { BackendChoice } from '../engine/backend.js';
import { addBackendOption } from './options.js';

/** `harmofl info`: which compute backend this machine gets, and the tfjs version. */
export function registerInfo(program: Command): void {
  addBackendOption(program.command('info').description('print the compute backend this machine uses')).action(
    async (opts: { backend: BackendChoice }) => {
      const info = await initBackend(opts.backend);
      process.stdout.write(`backend: ${info.name} (${info.detail}); tfjs-core ${tf.version_core}\n`);
    },
  );
}

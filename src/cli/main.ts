#!/usr/bin/env node
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerBench } from './bench_command.js';
import { registerInfo } from './info_command.js';
import { registerData } from './data_command.js';
import { registerSynth } from './synth_command.js';
import { registerTrain } from './train_command.js';
import { registerTest } from './test_command.js';
import { registerCompare } from './compare_command.js';
import { registerDemo } from './demo_command.js';
import { registerPredict } from './predict_command.js';
import { registerImport } from './import_command.js';
import { registerFlowerJoin } from './flower_join_command.js';
import { registerProvision } from './provision_command.js';
import { registerServe } from './serve_command.js';
import { registerJoin } from './join_command.js';
import { registerStatus } from './status_command.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('harmofl')
  .description('HarmoFL: federated learning on heterogeneous medical images')
  .version(pkg.version)
  .showHelpAfterError();
registerBench(program);
registerInfo(program);
registerData(program);
registerSynth(program);
registerTrain(program);
registerTest(program);
registerCompare(program);
registerDemo(program);
registerPredict(program);
registerImport(program);
registerFlowerJoin(program);
registerProvision(program);
registerServe(program);
registerJoin(program);
registerStatus(program);

// `harmofl join --flower HOST:PORT ...` joins a Flower federation: the same verb, the Flower client's options.
const argv =
  process.argv[2] === 'join' && process.argv.some((a) => a === '--flower' || a.startsWith('--flower='))
    ? [...process.argv.slice(0, 2), 'join-flower', ...process.argv.slice(3)]
    : process.argv;

program.parseAsync(argv).catch((e: unknown) => {
  process.stderr.write(`harmofl: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

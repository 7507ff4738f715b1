import { Option, type Command } from 'commander';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import type { ModelConfig } from '../nn/model.js';
import { saveModel } from '../nn/model_file.js';
import { loadModelSafetensors } from '../nn/model_safetensors.js';
import { densenet121, unet32 } from '../nn/presets.js';
import { parseBackend, parseList, parsePositiveInt } from './options.js';

const ARCHITECTURES = ['unet', 'densenet', 'unet32', 'densenet121'] as const;

interface ImportOptions {
  from: string;
  out: string;
  model?: (typeof ARCHITECTURES)[number];
  features?: number;
  growth?: number;
  blocks?: number[];
  imageSize?: number;
  classes?: number;
  backend: BackendChoice;
}

/**
 * The architecture the flags describe. `unet32` and `densenet121` are the reference presets;
 * `unet` and `densenet` are the small models `harmofl train --model` builds, with the same defaults.
 */
function architecture(o: ImportOptions & { model: (typeof ARCHITECTURES)[number] }): ModelConfig {
  const reference = o.model === 'unet32' || o.model === 'densenet121';
  if (o.model.startsWith('unet')) {
    const base = unet32(o.imageSize ?? 384);
    return { ...base, initFeatures: o.features ?? (reference ? base.initFeatures : 8), outChannels: o.classes ?? base.outChannels };
  }
  const base = densenet121(o.imageSize ?? 96);
  const small = { growthRate: 12, blockConfig: [3, 6, 12, 8], numInitFeatures: 24 };
  const defaults = reference ? base : { ...base, ...small };
  return {
    ...defaults,
    growthRate: o.growth ?? defaults.growthRate,
    blockConfig: o.blocks ?? defaults.blockConfig,
    numInitFeatures: o.features ?? defaults.numInitFeatures,
    numClasses: o.classes ?? defaults.numClasses,
  };
}

/** `harmofl import`: a safetensors model (a PyTorch state_dict, or harmofl's own export) to a harmofl model file. */
export function registerImport(program: Command): void {
  const positive = (name: string) => (v: string) => parsePositiveInt(v, name);
  program
    .command('import')
    .description("convert a safetensors state_dict (the reference's PyTorch names and layouts) into a harmofl model file")
    .requiredOption('--from <file>', 'model.safetensors')
    .requiredOption('--out <file>', 'harmofl model file to write (.hflm)')
    .addOption(new Option('--model <name>', "architecture (needed unless the file carries harmofl's metadata)").choices(ARCHITECTURES))
    .option('--features <n>', 'unet base features / densenet init features', positive('--features'))
    .option('--growth <n>', 'densenet growth rate', positive('--growth'))
    .option('--blocks <a,b,c,d>', 'densenet block config', (v: string) => parseList(v).map((b) => parsePositiveInt(b, '--blocks')))
    .option('--image-size <px>', 'input height and width (default 384 for unet, 96 for densenet)', positive('--image-size'))
    .option('--classes <k>', 'output classes (default 2)', positive('--classes'))
    .option('--backend <name>', 'auto | wasm | tensorflow | cpu', parseBackend, 'auto' as BackendChoice)
    .action(async (o: ImportOptions) => {
      await initBackend(o.backend);
      const model = await loadModelSafetensors(o.from, new Rng(0), {
        ...(o.model === undefined ? {} : { config: architecture({ ...o, model: o.model }) }),
        warn: (m) => process.stderr.write(`warning: ${m}\n`),
      });
      try {
        await saveModel(o.out, model);
        process.stdout.write(
          `${o.from} -> ${o.out}: ${model.config.kind}, ${model.params.parameterCount()} parameters, ${model.params.entries.size} entries\n`,
        );
      } finally {
        model.dispose();
      }
    });
}

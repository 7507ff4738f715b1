import { Option, type Command } from 'commander';
import type { BackendChoice } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { saveModel } from '../harmofl/model_file.js';
import { loadModelSafetensors } from '../harmofl/model_safetensors.js';
import { architecture, ARCHITECTURES, type Architecture, type ArchitectureFlags } from '../experiment/prepare.js';
import { addBackendOption, initCommandBackend, parseList, parsePositiveInt } from './options.js';

interface ImportOptions extends ArchitectureFlags {
  from: string;
  out: string;
  model?: Architecture;
  imageSize?: number;
  classes?: number;
  backend: BackendChoice;
  threads?: number;
}

/** `harmofl import`: a safetensors model (a PyTorch state_dict, or harmofl's own export) to a harmofl model file. */
export function registerImport(program: Command): void {
  const positive = (name: string) => (v: string) => parsePositiveInt(v, name);
  const cmd = program
    .command('import')
    .description("convert a safetensors state_dict (the reference's PyTorch names and layouts) into a harmofl model file")
    .requiredOption('--from <file>', 'model.safetensors')
    .requiredOption('--out <file>', 'harmofl model file to write (.hflm)')
    .addOption(new Option('--model <name>', "architecture (needed unless the file carries harmofl's metadata)").choices(ARCHITECTURES))
    .option('--features <n>', 'unet base features / densenet init features', positive('--features'))
    .option('--growth <n>', 'densenet growth rate', positive('--growth'))
    .option('--blocks <a,b,c,d>', 'densenet block config', (v: string) => parseList(v).map((b) => parsePositiveInt(b, '--blocks')))
    .option('--image-size <px>', 'input height and width (default 384 for unet, 96 for densenet)', positive('--image-size'))
    .option('--classes <k>', 'output classes (default 2)', positive('--classes'));
  addBackendOption(cmd).action(async (o: ImportOptions) => {
    await initCommandBackend(o);
    const model = await loadModelSafetensors(o.from, new Rng(0), {
      ...(o.model === undefined
        ? {}
        : {
            config: architecture(
              o.model,
              o,
              [3, o.imageSize ?? (o.model.startsWith('unet') ? 384 : 96), o.imageSize ?? (o.model.startsWith('unet') ? 384 : 96)],
              o.classes ?? 2,
            ),
          }),
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

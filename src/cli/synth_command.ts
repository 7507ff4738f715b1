import type { Command } from 'commander';
import { SYNTH_DEFAULTS, writeSyntheticFederations, type SynthOptions } from '../data/synthetic.js';
import { parsePositiveInt } from './options.js';

/** `harmofl synth`: writes the synthetic multi-site federations in the real formats. */
export function registerSynth(program: Command): void {
  const int = (name: string) => (v: string) => parsePositiveInt(v, name);
  program
    .command('synth')
    .description('write synthetic federations (Camelyon17-WILDS layout, prostate NIfTI, nuclei manifest) whose sites differ like scanners')
    .option('--out <dir>', 'output folder', 'data/synthetic')
    .option('--sites <n>', 'sites per federation', int('--sites'), SYNTH_DEFAULTS.sites)
    .option('--patches-per-site <n>', 'Camelyon-style patches per site', int('--patches-per-site'), SYNTH_DEFAULTS.patchesPerSite)
    .option('--patch-size <px>', 'patch side', int('--patch-size'), SYNTH_DEFAULTS.patchSize)
    .option('--cases-per-site <n>', 'prostate-style volumes per site', int('--cases-per-site'), SYNTH_DEFAULTS.casesPerSite)
    .option('--volume-size <px>', 'volume in-plane side (multiple of 16)', int('--volume-size'), SYNTH_DEFAULTS.volumeSize)
    .option('--slices <n>', 'slices per volume', int('--slices'), SYNTH_DEFAULTS.slices)
    .option('--images-per-site <n>', 'nuclei-style images per site', int('--images-per-site'), SYNTH_DEFAULTS.imagesPerSite)
    .option('--image-size <px>', 'nuclei image side (multiple of 16)', int('--image-size'), SYNTH_DEFAULTS.imageSize)
    .option(
      '--shift <s>',
      'strength of the site shifts (0: sites look alike, a control; 1: default)',
      (v: string) => Number(v),
      SYNTH_DEFAULTS.shift,
    )
    .option('--seed <n>', 'seed (same seed, same files)', (v: string) => Number(v), SYNTH_DEFAULTS.seed)
    .action(async (opts: SynthOptions & { out: string }) => {
      const started = performance.now();
      const { out, ...options } = opts;
      const dirs = await writeSyntheticFederations(out, options);
      for (const [name, dir] of Object.entries(dirs)) process.stdout.write(`${name}: ${dir}\n`);
      process.stderr.write(`written in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    });
}

import { Option, type Command } from 'commander';
import type { BackendChoice } from '../engine/backend.js';
import type { Normalization } from '../nn/batch_norm.js';
import { runPrediction } from '../predict/runner.js';
import { formatTable } from '../report/table.js';
import { addBackendOption, initCommandBackend, parsePositiveInt } from './options.js';

interface PredictCliOptions {
  threads?: number;
  model: string;
  input: string;
  out: string;
  batch: number;
  site?: string;
  norm?: Normalization;
  calibrateData?: string;
  calibrateBatch: number;
  seed: number;
  json?: boolean;
  backend: BackendChoice;
}

/** `harmofl predict`: a saved model on images, volumes or a federation's test split. */
export function registerPredict(program: Command): void {
  const cmd = program
    .command('predict')
    .description(
      'predict with a saved model: classes (predictions.csv) or masks and overlays, for images, NIfTI volumes, folders or a federation',
    )
    .requiredOption('--model <file>', 'model file (.hflm, or .safetensors with harmofl metadata)')
    .requiredOption(
      '--input <path>',
      "a PNG/JPEG image, a NIfTI volume (.nii, .nii.gz), a folder of them, or a federation folder (every site's test split)",
    )
    .requiredOption('--out <dir>', 'output folder')
    .option(
      '--batch <n>',
      'images per forward pass (with batch statistics, predictions depend on it)',
      (v: string) => parsePositiveInt(v, '--batch'),
      16,
    )
    .option('--site <name>', 'only this site of a federation input and of federation calibration data')
    .addOption(
      new Option(
        '--norm <mode>',
        'BatchNorm statistics: batch (the reference) or calibrated (the same prediction whatever the batch); default calibrated with --calibrate-data, else batch',
      ).choices(['batch', 'calibrated']),
    )
    .option('--calibrate-data <dir>', 'data for the calibration pass: a federation (its training splits) or images / volumes')
    .option(
      '--calibrate-batch <n>',
      'images per calibration batch (batch statistics, as in training)',
      (v: string) => parsePositiveInt(v, '--calibrate-batch'),
      16,
    )
    .option('--seed <n>', "a federation's split seed (the training run's)", (v: string) => Number(v), 0)
    .option('--json', 'print the report as JSON');
  addBackendOption(cmd).action(async (o: PredictCliOptions) => {
    const backend = await initCommandBackend(o);
    process.stderr.write(`backend: ${backend.name}\n`);
    const norm = o.norm ?? (o.calibrateData === undefined ? 'batch' : 'calibrated');
    const report = await runPrediction({
      modelFile: o.model,
      input: o.input,
      out: o.out,
      batch: o.batch,
      calibrateBatch: o.calibrateBatch,
      norm,
      seed: o.seed,
      ...(o.site === undefined ? {} : { site: o.site }),
      ...(o.calibrateData === undefined ? {} : { calibrateData: o.calibrateData }),
      warn: (m) => process.stderr.write(`warning: ${m}\n`),
    });
    const rate = report.images / Math.max(report.seconds, 1e-9);
    // Partial success is success: each bad input is listed; the run fails only when nothing could be predicted.
    if (report.failures.length === report.inputs) process.exitCode = 1;
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ ...report, norm, imagesPerSecond: rate })}\n`);
      return;
    }
    if (report.calibrationImages !== undefined)
      process.stdout.write(`calibrated BatchNorm on ${report.calibrationImages} images of ${o.calibrateData}\n`);
    if (report.metrics.length > 0) {
      const name = report.task === 'classification' ? 'accuracy %' : 'dice %';
      const mean = report.metrics.reduce((a, m) => a + m.value, 0) / report.metrics.length;
      const rows = report.metrics.map((m) => [m.site, String(m.images), (m.value * 100).toFixed(2)]);
      process.stdout.write(`${formatTable(['site', 'test images', name], [...rows, ['mean', '', (mean * 100).toFixed(2)]])}\n`);
    }
    for (const f of report.failures) process.stderr.write(`skipped ${f.input}: ${f.reason}\n`);
    const failed = report.failures.length > 0 ? `; ${report.failures.length} of ${report.inputs} inputs skipped (listed above)` : '';
    process.stdout.write(
      `predicted ${report.images} images from ${report.inputs - report.failures.length} inputs in ${report.seconds.toFixed(2)} s (${rate.toFixed(1)} images/s, ${norm} statistics, batch ${o.batch})${failed}; ${report.predictions}\n`,
    );
  });
}

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { tempDir } from '../temp_dir.js';
import { decode as decodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import * as nifti from 'nifti-reader-js';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { decodeImage } from '../../src/data/image_codec.js';
import { encodeNifti } from '../../src/data/nifti_writer.js';
import { sliceStack, windowVolume } from '../../src/data/prostate.js';
import { writeSyntheticFederations } from '../../src/data/synthetic.js';
import { calibrate, setNormalization } from '../../src/nn/calibrate.js';
import type { Model } from '../../src/nn/model.js';
import { saveModel } from '../../src/harmofl/model_file.js';
import { saveModelSafetensors } from '../../src/harmofl/model_safetensors.js';
import { createModel, type AmpNormModel } from '../../src/harmofl/create_model.js';
import { argmaxMask } from '../../src/predict/segmentation_writer.js';
import { writePng } from '../data/write_png.js';
import { TINY_SYNTH } from '../fl/tiny_federation.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a real process. */
function harmofl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('node', [cli, ...args, '--backend', 'wasm'], (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
  });
}

/** Every file below `dir`, relative, sorted. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

const csv = async (file: string): Promise<string[][]> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.split(','));

let dir: string;
let unetFile: string;
let calibratedUnet: string;
let densenetFile: string;
let synth: Record<'camelyon' | 'prostate' | 'nuclei', string>;
/** The volume's 3-row affine (voxel to world), non-trivial: rotated, anisotropic, offset. */
const AFFINE = [
  [0, -0.75, 0, 12.5],
  [0.6, 0, 0, -30],
  [0, 0, 3, 7.25],
];
const VOLUME_DIMS: [number, number, number] = [16, 16, 5];
let volumeData: Float32Array;

/** The mask a calibrated U-Net gives `image` (16x16x3 stored values) alone, with the scale predict uses. */
function maskAlone(model: Model, data: Float32Array, scale: number): Uint8Array {
  const logits = tf.tidy(() =>
    model.forward(
      tf.tensor4d(
        data.map((v) => v * scale),
        [1, 16, 16, 3],
      ),
      false,
    ),
  );
  const mask = argmaxMask(logits.dataSync() as Float32Array, 2);
  logits.dispose();
  return mask;
}

let unet: AmpNormModel;

before(async () => {
  await initBackend('wasm');
  dir = await tempDir('harmofl-predict-');
  synth = await writeSyntheticFederations(path.join(dir, 'synth'), { ...TINY_SYNTH, seed: 2 });
  const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  unet = createModel({ kind: 'unet', inputShape: [3, 16, 16], initFeatures: 2, outChannels: 2 }, new Rng(3));
  unet.inputNorm.observe(x);
  unetFile = path.join(dir, 'unet.hflm');
  await saveModel(unetFile, unet);
  await saveModelSafetensors(path.join(dir, 'unet.safetensors'), unet);
  await calibrate(unet, [tf.clone(x)]);
  calibratedUnet = path.join(dir, 'unet_calibrated.hflm');
  await saveModel(calibratedUnet, unet);
  setNormalization(unet, 'calibrated');
  const densenet = createModel(
    { kind: 'densenet', inputShape: [3, 16, 16], growthRate: 4, blockConfig: [2, 2], numInitFeatures: 8, bnSize: 2, numClasses: 2 },
    new Rng(4),
  );
  densenet.inputNorm.observe(x);
  densenetFile = path.join(dir, 'densenet.hflm');
  await saveModel(densenetFile, densenet);
  densenet.dispose();
  x.dispose();

  // A folder of images: good ones (PNG in a subfolder, JPEG), a corrupt file, a grey one and a too large one.
  const images = path.join(dir, 'images');
  await writePng(path.join(images, 'a.png'), 16, 16, 3, (px, py, c) => (px * 16 + py * 5 + c * 70) % 256);
  await writePng(path.join(images, 'sub', 'b.png'), 16, 16, 3, (px, py, c) => (px * py + c * 40) % 256);
  const rgba = Buffer.alloc(16 * 16 * 4, 255);
  for (let i = 0; i < 16 * 16; i++) rgba[i * 4] = (i * 7) % 256;
  await writeFile(path.join(images, 'c.jpg'), jpeg.encode({ data: rgba, width: 16, height: 16 }, 90).data);
  await writeFile(path.join(images, 'corrupt.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]));
  await writePng(path.join(images, 'grey.png'), 16, 16, 1, (px) => px * 10);
  await writePng(path.join(images, 'big.png'), 32, 32, 3, () => 100);
  await writeFile(path.join(images, 'notes.txt'), 'not an input');

  // A folder of volumes: one gzipped with a non-trivial affine (and its label volume, not an input), one plain .nii.
  const volumes = path.join(dir, 'volumes');
  await mkdir(volumes);
  volumeData = Float32Array.from({ length: 16 * 16 * 5 }, (_, i) => 100 + ((i * 37) % 900) + (i % 16 > 8 ? 2000 : 0));
  await writeFile(path.join(volumes, 'Case07.nii.gz'), encodeNifti(volumeData, VOLUME_DIMS, AFFINE));
  await writeFile(path.join(volumes, 'Case07_segmentation.nii.gz'), encodeNifti(new Uint8Array(16 * 16 * 5), VOLUME_DIMS));
  await writeFile(path.join(volumes, 'plain.nii'), gunzipSync(encodeNifti(volumeData, VOLUME_DIMS)));
});

test('segmentation on a folder of images: mask and overlay per good image, bad ones named and skipped', async () => {
  const out = path.join(dir, 'out-images');
  const r = await harmofl(
    'predict',
    '--model',
    calibratedUnet,
    '--input',
    path.join(dir, 'images'),
    '--out',
    out,
    '--norm',
    'calibrated',
    '--batch',
    '2',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped big\.png: is 32x32, the model takes 16x16/);
  assert.match(r.stderr, /skipped corrupt\.png: .*corrupt\.png: cannot decode image/);
  assert.match(r.stderr, /skipped grey\.png: has 1 channel\(s\), the model takes 3/);
  assert.match(
    r.stdout,
    /predicted 3 images from 3 inputs in [\d.]+ s \([\d.]+ images\/s, calibrated statistics, batch 2\); 3 of 6 inputs skipped/,
  );
  assert.deepEqual(await files(out), [
    'a.mask.png',
    'a.overlay.png',
    'c.mask.png',
    'c.overlay.png',
    'predictions.csv',
    'sub/b.mask.png',
    'sub/b.overlay.png',
  ]);
  const rows = await csv(path.join(out, 'predictions.csv'));
  assert.deepEqual(rows[0], ['file', 'foreground_fraction']);
  assert.deepEqual(
    rows.slice(1).map((r) => r[0]),
    ['a.png', 'c.jpg', path.join('sub', 'b.png')],
  );
  // Each mask is the model's prediction for that image alone (calibrated mode), at the image's size.
  for (const [name, stem] of [
    ['a.png', 'a'],
    ['c.jpg', 'c'],
    [path.join('sub', 'b.png'), path.join('sub', 'b')],
  ] as const) {
    const image = decodeImage(await readFile(path.join(dir, 'images', name)), name);
    const expected = maskAlone(unet, image.data, 1 / 255);
    const png = decodePng(await readFile(path.join(out, `${stem}.mask.png`)));
    assert.deepEqual([png.width, png.height, png.channels], [16, 16, 1]);
    assert.deepEqual(
      Uint8Array.from(png.data, (v) => (v === 255 ? 1 : v === 0 ? 0 : 9)),
      expected,
      `${name} mask`,
    );
    const fraction = expected.reduce((a, k) => a + k, 0) / expected.length;
    assert.equal(Number(rows.find((r) => r[0] === name)![1]), Number(fraction.toFixed(6)));
    const overlay = decodePng(await readFile(path.join(out, `${stem}.overlay.png`)));
    assert.deepEqual([overlay.width, overlay.height, overlay.channels], [16, 16, 3]);
    // Outline pixels are red; a pixel of the image without foreground keeps its colour.
    const red = [...Array(256).keys()].filter(
      (p) => overlay.data[p * 3] === 255 && overlay.data[p * 3 + 1] === 0 && overlay.data[p * 3 + 2] === 0,
    );
    if (expected.some((k) => k === 1)) assert.ok(red.length > 0 && red.every((p) => expected[p] === 1), `${name} outline on foreground`);
    const bg = expected.findIndex((k) => k === 0);
    if (bg >= 0)
      assert.deepEqual(
        [...overlay.data.subarray(bg * 3, bg * 3 + 3)],
        [0, 1, 2].map((c) => Math.round(image.data[bg * 3 + c]!)),
      );
  }
});

test('calibrated predictions do not depend on the batch; batch statistics do', async () => {
  const run = async (batch: string, ...extra: string[]): Promise<string> => {
    const out = path.join(dir, `out-batch-${batch}-${extra.length}`);
    const r = await harmofl('predict', '--model', unetFile, '--input', path.join(dir, 'images'), '--out', out, '--batch', batch, ...extra);
    assert.equal(r.code, 0, r.stderr);
    return readFile(path.join(out, 'predictions.csv'), 'utf8');
  };
  const calibrated = ['--calibrate-data', synth.nuclei];
  const [c1, c4, b1, b4] = await Promise.all([run('1', ...calibrated), run('4', ...calibrated), run('1'), run('4')]);
  assert.equal(c1, c4);
  assert.notEqual(b1, b4);
});

test('volumes: a NIfTI mask per volume keeping the header and affine, overlays of slices with foreground', async () => {
  const out = path.join(dir, 'out-volumes');
  const r = await harmofl('predict', '--model', calibratedUnet, '--input', path.join(dir, 'volumes'), '--out', out, '--norm', 'calibrated');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /predicted 10 images from 2 inputs/);
  const written = await files(out);
  assert.ok(
    written.includes('Case07.mask.nii.gz') && written.includes('plain.mask.nii') && !written.some((f) => f.includes('segmentation')),
    written.join(' '),
  );
  const source = gunzipSync(await readFile(path.join(dir, 'volumes', 'Case07.nii.gz')));
  const maskBytes = await readFile(path.join(out, 'Case07.mask.nii.gz'));
  const raw = gunzipSync(maskBytes);
  const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  const header = nifti.readHeader(buffer);
  assert.equal(header.datatypeCode, 2);
  assert.deepEqual(header.dims.slice(0, 4), [3, 16, 16, 5]);
  assert.equal(header.sform_code, 1);
  const affine = header.affine.slice(0, 3).map((row) => row.map((v) => Math.round(v * 1e4) / 1e4));
  assert.deepEqual(affine, AFFINE);
  assert.deepEqual(
    [...header.pixDims.slice(1, 4)].map((v) => Math.round(v * 1e4) / 1e4),
    [0.6, 0.75, 3],
  );
  // Apart from datatype, bitpix, scaling and display range, the header is the source's byte for byte.
  const changed = new Set([
    70,
    71,
    72,
    73,
    ...Array.from({ length: 8 }, (_, i) => 112 + i),
    ...Array.from({ length: 8 }, (_, i) => 124 + i),
  ]);
  for (let i = 0; i < 352; i++) if (!changed.has(i) && raw[i] !== source[i]) assert.fail(`header byte ${i} changed`);
  // The voxels: each slice predicted from its 3-slice stack, as training builds it.
  const mask = new Uint8Array(nifti.readImage(header, buffer));
  const windowed = windowVolume({ data: volumeData, dims: VOLUME_DIMS });
  const overlays: string[] = [];
  for (let z = 0; z < 5; z++) {
    const expected = maskAlone(unet, sliceStack(windowed, VOLUME_DIMS, z), 1);
    assert.deepEqual(mask.subarray(z * 256, (z + 1) * 256), expected, `slice ${z}`);
    if (expected.some((k) => k > 0)) overlays.push(`Case07.z${z}.overlay.png`);
  }
  assert.deepEqual(
    written.filter((f) => f.startsWith('Case07.z')),
    overlays,
  );
  const plain = new Uint8Array(await readFile(path.join(out, 'plain.mask.nii')));
  assert.equal(plain[0], 348 % 256, 'the uncompressed input gives an uncompressed mask');
  assert.deepEqual(
    (await csv(path.join(out, 'predictions.csv'))).map((row) => row[0]),
    ['file', 'Case07.nii.gz', 'plain.nii'],
  );

  // A classifier cannot segment volumes: every input fails, so the run fails.
  const bad = await harmofl('predict', '--model', densenetFile, '--input', path.join(dir, 'volumes'), '--out', path.join(dir, 'out-bad'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /skipped Case07\.nii\.gz: a NIfTI volume needs a segmentation model/);
  assert.match(bad.stdout, /2 of 2 inputs skipped/);
});

test("classification on a federation: every site's test split, probabilities per class, the same metric as harmofl test", async () => {
  const out = path.join(dir, 'out-camelyon');
  const r = await harmofl('predict', '--model', densenetFile, '--input', synth.camelyon, '--out', out, '--batch', '4', '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { metrics: Array<{ site: string; value: number }>; images: number; imagesPerSecond: number };
  const t = await harmofl('test', '--checkpoint', densenetFile, '--data', synth.camelyon, '--batch', '4', '--json');
  const expected = JSON.parse(t.stdout) as { perSiteTest: Record<string, number> };
  assert.deepEqual(Object.fromEntries(report.metrics.map((m) => [m.site, m.value])), expected.perSiteTest);
  assert.ok(report.imagesPerSecond > 0);
  const rows = await csv(path.join(out, 'predictions.csv'));
  assert.deepEqual(rows[0], ['file', 'predicted', 'p0', 'p1']);
  assert.equal(rows.length - 1, report.images);
  assert.match(rows[1]![0]!, /^hospital0\/test_\d+$/);
  for (const row of rows.slice(1)) {
    const [p0, p1] = [Number(row[2]), Number(row[3])];
    assert.ok(Math.abs(p0 + p1 - 1) < 1e-5);
    assert.equal(Number(row[1]), p1 > p0 ? 1 : 0);
  }
  assert.deepEqual(await files(out), ['predictions.csv'], 'nothing else, no temp file');
  const wrongTask = await harmofl('predict', '--model', densenetFile, '--input', synth.nuclei, '--out', path.join(dir, 'out-wrong'));
  assert.equal(wrongTask.code, 1);
  assert.match(wrongTask.stderr, /is a segmentation federation; .*densenet\.hflm is a classification model/);
});

test('a safetensors model predicts as its .hflm; import turns a safetensors file into a model file', async () => {
  const outs = ['hflm', 'st'].map((k) => path.join(dir, `out-format-${k}`));
  const [a, b] = await Promise.all([
    harmofl('predict', '--model', unetFile, '--input', synth.prostate, '--out', outs[0]!, '--site', 'HK'),
    harmofl('predict', '--model', path.join(dir, 'unet.safetensors'), '--input', synth.prostate, '--out', outs[1]!, '--site', 'HK'),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stdout, /^HK /m);
  assert.doesNotMatch(a.stdout, /^BIDMC /m);
  assert.equal(
    await readFile(path.join(outs[0]!, 'predictions.csv'), 'utf8'),
    await readFile(path.join(outs[1]!, 'predictions.csv'), 'utf8'),
  );

  const imported = path.join(dir, 'imported.hflm');
  const importUnet = (features: string, out: string): Promise<Run> =>
    harmofl(
      'import',
      '--from',
      path.join(dir, 'unet.safetensors'),
      '--model',
      'unet',
      '--features',
      features,
      '--image-size',
      '16',
      '--out',
      out,
    );
  const ok = await importUnet('2', imported);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /unet\.safetensors -> .*imported\.hflm: unet/);
  const c = await harmofl(
    'predict',
    '--model',
    imported,
    '--input',
    synth.prostate,
    '--out',
    path.join(dir, 'out-format-imported'),
    '--site',
    'HK',
  );
  assert.equal(
    await readFile(path.join(dir, 'out-format-imported', 'predictions.csv'), 'utf8'),
    await readFile(path.join(outs[0]!, 'predictions.csv'), 'utf8'),
    c.stderr,
  );
  const wrong = await importUnet('4', path.join(dir, 'x.hflm'));
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /does not fit the unet \(features 4, 3x16x16 input, 2 classes\) model:\n {2}mis-shaped \(\d+\):\n {4}encoder1\.enc1_conv1\.weight: expected \[4,3,3,3\], found \[2,3,3,3\]/,
  );
});

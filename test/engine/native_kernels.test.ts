import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/node_backend.js';
import { kernelChoiceFromEnv, loadNativeKernels } from '../../src/engine/native_addon.js';
import { kernelThreads } from '../../src/engine/heap_kernels.js';
import { bnRelu } from '../../src/nn/batch_norm.js';

const ADDON = fileURLToPath(new URL('../../../native/build/Release/harmofl_kernels.node', import.meta.url));
// CI sets HARMOFL_EXPECT_NATIVE=1: there a missing addon is a failure, not a skip.
const expectNative = process.env['HARMOFL_EXPECT_NATIVE'] === '1';
const built = existsSync(ADDON);
const skipNative = !built && !expectNative ? 'native kernels not built here (no C++ compiler at install)' : false;

test('the native kernels load and name their instruction set', { skip: skipNative }, () => {
  const load = loadNativeKernels('auto');
  assert.ok(load.addon !== undefined, load.reason);
  assert.match(load.reason, /native (avx2\+fma|avx512) kernels/);
  assert.ok(load.addon.describe().hardwareThreads >= 1);
});

test('the FMA loop runs on the threads asked for and reports the slowest one', { skip: skipNative }, () => {
  const { addon } = loadNativeKernels('native');
  // The slowest of the threads' rates (a helper that joined too late to run would be left out).
  for (const threads of [1, 2, 3]) {
    const gflops = addon!.fmaPeak(0.02, threads);
    assert.ok(Number.isFinite(gflops) && gflops > 1, `fmaPeak on ${threads} thread(s) gave ${gflops}`);
  }
  // Out-of-range arguments fall back to one thread and 0.2 s.
  assert.ok(addon!.fmaPeak(-1, 0) > 1);
});

test('HARMOFL_KERNELS: wasm needs no addon, native without one fails naming the file, other values are refused', () => {
  assert.equal(loadNativeKernels('wasm').addon, undefined);
  assert.throws(() => loadNativeKernels('native', '/nonexistent/harmofl_kernels.node'), /nonexistent\/harmofl_kernels\.node/);
  assert.match(loadNativeKernels('auto', '/nonexistent/harmofl_kernels.node').reason, /not built/);
  assert.equal(kernelChoiceFromEnv({ HARMOFL_KERNELS: 'native' }), 'native');
  assert.throws(() => kernelChoiceFromEnv({ HARMOFL_KERNELS: 'gpu' }), /HARMOFL_KERNELS must be one of auto, native, wasm/);
});

test('a native kernel given a tensor past the heap throws a RangeError instead of writing', { skip: skipNative }, () => {
  const { addon } = loadNativeKernels('native');
  const heap = new ArrayBuffer(1024);
  // channelSums over 100 rows of 8 channels needs 3200 bytes of u.
  assert.throws(() => addon!.channelSums(heap, 1, 0, 0, 100, 8, 0, false), RangeError);
  assert.throws(() => addon!.copyRuns(heap, 1, 0, 16, 512, 16, 16, 64), RangeError);
  assert.throws(() => addon!.channelSums(heap, 0, 0, 0, 1, 8, 0, false), /threads must be 1\.\.256/);
  assert.throws(() => addon!.padPlane(heap, 1, 0, 512, 1, 8, 8, 2, 10, 10, 2, 1, 1), RangeError);
  assert.throws(() => addon!.padPlane(heap, 1, 0, 512, 1, 2, 2, 8, 2, 2, 4, 0, 0), /cp >= c/);
  assert.throws(() => addon!.elementwise(heap, 1, 0, 0, 512, 0, 320, 8), RangeError);
  assert.throws(() => addon!.elementwise(heap, 1, 0, 0, 512, 0, 20, 3), /bCount dividing count/);
  assert.throws(() => addon!.transposeTiles(heap, 1, 0, 520, 2, 8, 8, 64, 8, 64, 8), RangeError);
  // channelAffine over 4 rows of 8 channels, ReLU rows 16 floats apart: 224 bytes from the target.
  assert.throws(() => addon!.channelAffine(heap, 1, 0, 0, 128, 4, 8, 256, false, 900, 16), RangeError);
  assert.throws(() => addon!.channelAffine(heap, 1, 0, 0, 128, 4, 8, 256, false, 600, 4), /rectStride 0 or >= channels/);
  addon!.channelAffine(heap, 2, 0, 0, 128, 4, 8, 256, false, 800, 16);
  addon!.copyRuns(heap, 2, 0, 16, 512, 16, 16, 32);
  addon!.padPlane(heap, 2, 0, 512, 1, 4, 4, 4, 5, 5, 4, 1, 1);
});

test('channel sums are bit-identical float64s on 1, 2 and 3 threads, with and without the ReLU mask', { skip: skipNative }, () => {
  const { addon } = loadNativeKernels('native');
  // 9792 rows of 97 channels (one past the last 8): 14 row chunks, 3 threads. BatchNorm rounds
  // these sums to float32 coefficients, which can hide a changed order; the raw float64s cannot.
  const [rows, channels] = [9792, 97];
  const bytes = 4 * rows * channels;
  const heap = new ArrayBuffer(2 * bytes + 16 * channels);
  const values = new Float32Array(heap, 0, 2 * rows * channels);
  let seed = 7;
  for (let i = 0; i < values.length; i++) values[i] = ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 30 - 1) * 3;
  const sums = new Float64Array(heap, 2 * bytes, 2 * channels);
  for (const relu of [false, true]) {
    const byThreads = [1, 2, 3].map((threads) => {
      addon!.channelSums(heap, threads, 0, bytes, rows, channels, 2 * bytes, relu);
      return Array.from(sums);
    });
    assert.ok(byThreads[0]!.some((v) => v !== 0));
    assert.deepEqual(byThreads[1], byThreads[0], `relu ${relu}: 2 threads`);
    assert.deepEqual(byThreads[2], byThreads[0], `relu ${relu}: 3 threads`);
  }
});

/** Outputs and gradients of the kernels that split work across threads, on one set of inputs. */
function kernelOutputs(): Float32Array[] {
  return tf.tidy(() => {
    const outs: tf.Tensor[] = [];
    // Large enough that every kernel wakes its helpers (small layers stay on one thread).
    const x = tf.randomNormal([8, 36, 34, 32], 0, 1, 'float32', 3) as tf.Tensor4D;
    // A late DenseNet layer's shape: few pixels (286) and many channels, so blocks of under 96 pixels are shared.
    const late = tf.randomNormal([2, 11, 13, 256], 0, 1, 'float32', 7) as tf.Tensor4D;
    for (const [input, k, stride, co] of [
      [x, 3, 1, 40], // Winograd forward and filter gradient
      [x, 3, 2, 24], // direct
      [x, 1, 1, 48], // 1x1 GEMM
      [late, 1, 1, 128],
    ] as const) {
      const w = tf.randomNormal([k, k, input.shape[3], co], 0, 1, 'float32', k * 10 + stride + co) as tf.Tensor4D;
      const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same');
      outs.push(f(input, w), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(f(a, b))))([input, w]));
    }
    // Under 2048 tiles (or output pixels) the filter gradients split by (position, channel group), not by tiles.
    const few = tf.randomNormal([1, 30, 34, 32], 0, 1, 'float32', 4) as tf.Tensor4D;
    const w3 = tf.randomNormal([3, 3, 32, 40], 0, 1, 'float32', 5) as tf.Tensor4D;
    for (const stride of [1, 2])
      outs.push(
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same'))))([
          few,
          w3,
        ]),
      );
    outs.push(
      tf.sum(x, [0, 1, 2]),
      tf.relu(x),
      tf.sub(x, tf.range(0, 32, 1, 'float32')),
      tf.transpose(tf.reshape(x, [8, 36 * 34, 32]), [0, 2, 1]),
    );
    // BatchNorm with the ReLU written by its forward pass and folded into its backward, wide enough (940 Ki elements) that its
    // channel sums run on 3 threads over 14 row chunks; then both pooling gradients.
    const wide = tf.randomNormal([8, 36, 34, 96], 0, 1, 'float32', 6) as tf.Tensor4D;
    outs.push(bnRelu(wide), ...tf.grads((a: tf.Tensor) => tf.sum(tf.square(bnRelu(a as tf.Tensor4D))))([wide]));
    outs.push(...tf.grads((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'))))([x]));
    outs.push(...tf.grads((a: tf.Tensor) => tf.sum(tf.square(tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid'))))([x]));
    // Reductions on the channel sums: per image (a global average pool) and of everything (a norm).
    outs.push(tf.mean(wide, [1, 2]), tf.sum(wide));
    return outs.map((t) => t.dataSync() as Float32Array);
  });
}

test(
  'back-to-back calls with late helpers: every call complete and bit-identical (more threads than cores, cores kept busy)',
  { skip: skipNative },
  async () => {
    const { addon } = loadNativeKernels('native');
    // Small calls alternate 1, 2 and 3 threads while a worker thread spins: helpers often reach a
    // call after the caller has done every chunk, and must then skip it rather than run a finished one.
    const [rows, channels, count] = [2048, 40, 65536];
    const bytes = 4 * rows * channels;
    const heap = new ArrayBuffer(bytes + 16 * channels + 8 * count + 64);
    const values = new Float32Array(heap, 0, rows * channels);
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i) * 2;
    const sums = new Float64Array(heap, bytes, 2 * channels);
    const outAt = bytes + 16 * channels;
    const out = new Float32Array(heap, outAt, count);
    const { Worker } = await import('node:worker_threads');
    const spinner = new Worker('const end = Date.now() + 10000; while (Date.now() < end) {}', { eval: true });
    try {
      let reference: number[] | undefined;
      const started = Date.now();
      for (let call = 0; call < 3000 && Date.now() - started < 8000; call++) {
        const threads = 1 + (call % 3);
        out.fill(-1);
        // out = values[0, count) + values[i % 8]: 32 Ki elements per thread, so it splits.
        addon!.elementwise(heap, threads, 0, 0, 0, outAt, count, 8);
        for (let i = 0; i < count; i += 509) assert.equal(out[i], Math.fround(values[i]! + values[i % 8]!), `call ${call}: element ${i}`);
        assert.equal(out[count - 1], Math.fround(values[count - 1]! + values[(count - 1) % 8]!), `call ${call}: last element`);
        addon!.channelSums(heap, threads, 0, 0, rows, channels, bytes, call % 2 === 1);
        if (call % 2 === 1) {
          const got = Array.from(sums);
          reference ??= got;
          assert.deepEqual(got, reference, `call ${call} on ${threads} threads`);
        }
      }
      assert.ok(reference !== undefined);
    } finally {
      await spinner.terminate();
    }
  },
);

test(
  'native kernels give bit-identical results on 1, 2 and 3 threads (every output is summed by one thread in one order)',
  { skip: skipNative },
  async () => {
    await initBackend('wasm', { kernels: 'native', threads: 1 });
    const one = kernelOutputs();
    for (const threads of [2, 3]) {
      await initBackend('wasm', { kernels: 'native', threads });
      assert.equal(kernelThreads(), threads);
      const many = kernelOutputs();
      assert.equal(many.length, one.length);
      for (let i = 0; i < one.length; i++) assert.deepEqual(many[i], one[i], `output ${i} on ${threads} threads`);
    }
    await initBackend('wasm', { threads: 1 });
  },
);

test('native and WebAssembly kernels agree within float32 rounding', { skip: skipNative }, async () => {
  await initBackend('wasm', { kernels: 'wasm' });
  assert.equal(kernelThreads(), 1);
  const wasm = kernelOutputs();
  await initBackend('wasm', { kernels: 'native', threads: 2 });
  const native = kernelOutputs();
  for (let i = 0; i < wasm.length; i++) {
    let scale = 0;
    let err = 0;
    for (let j = 0; j < wasm[i]!.length; j++) {
      scale = Math.max(scale, Math.abs(wasm[i]![j]!));
      err = Math.max(err, Math.abs(wasm[i]![j]! - native[i]![j]!));
    }
    assert.ok(err <= 1e-4 * Math.max(1, scale), `output ${i}: max difference ${err} at scale ${scale}`);
  }
  await initBackend('wasm', { threads: 1 });
});

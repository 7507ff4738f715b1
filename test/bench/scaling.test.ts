import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchScaling } from '../../src/bench/bench.js';
import type { BenchConfig } from '../../src/bench/configs.js';

const tiny: BenchConfig = {
  name: 'unet-tiny',
  model: { kind: 'unet', inputShape: [3, 16, 16], initFeatures: 4, outChannels: 2 },
  batch: 2,
  ampL: 0,
  warmupSteps: 1,
  steps: 1,
  scalingPairs: 3,
};

test('paired scaling: a worker alternates 1-thread and 2-thread steps, and the speed-up is the ratio of the two rates', async () => {
  const s = await benchScaling(tiny, 2, 'wasm');
  assert.equal(s.config, 'unet-tiny');
  assert.equal(s.threads, 2);
  // The scaling measurement times its own pair count, not the throughput rows' step count.
  assert.equal(s.pairs, 3);
  assert.equal(s.stepMs.oneThread.length, 3);
  for (const rate of [s.oneThreadImagesPerSecond, s.threadsImagesPerSecond]) assert.ok(Number.isFinite(rate) && rate > 0);
  assert.ok(Math.abs(s.speedup - s.threadsImagesPerSecond / s.oneThreadImagesPerSecond) < 1e-9 * s.speedup);
  // The whole-run ratio lies within the pairs' range (it is a weighted mean of them).
  assert.ok(s.pairRange[0] <= s.speedup + 1e-12 && s.speedup <= s.pairRange[1] + 1e-12);
});

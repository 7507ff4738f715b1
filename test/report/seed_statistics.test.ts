import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanStd, pairedDifference } from '../../src/report/seed_statistics.js';

test('mean and sample standard deviation across seeds', () => {
  const { mean, std } = meanStd([0.8, 0.9, 1.0]);
  assert.ok(Math.abs(mean - 0.9) < 1e-12 && Math.abs(std - 0.1) < 1e-12);
  assert.deepEqual(meanStd([0.5]), { mean: 0.5, std: 0 });
});

test('the paired difference uses Student t: 3 seeds give t(2) = 4.303', () => {
  // Differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, half-width 4.303 * 0.1 / sqrt(3).
  const d = pairedDifference([0.6, 0.7, 0.8], [0.5, 0.5, 0.5]);
  const half = (4.303 * 0.1) / Math.sqrt(3);
  assert.ok(Math.abs(d.mean - 0.2) < 1e-12 && Math.abs(d.low - (0.2 - half)) < 1e-9 && Math.abs(d.high - (0.2 + half)) < 1e-9);
  assert.equal(pairedDifference([1], [0]).high, Number.POSITIVE_INFINITY, 'one pair says nothing about spread');
  assert.throws(() => pairedDifference([1, 2], [1]), /paired runs differ in number/);
});

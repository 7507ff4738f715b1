import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { arriveAndWait, breakBarrier, createBarrier } from '../../src/engine/barrier.js';
import { WorkerPool } from '../../src/engine/worker_pool.js';
import type { tasks } from './barrier_task.js';

let pool: WorkerPool<typeof tasks>;

before(async () => {
  pool = new WorkerPool<typeof tasks>(2, new URL('./barrier_task.js', import.meta.url), 'cpu');
  await pool.ready();
});

after(async () => {
  await pool.close();
});

test('barrier: no worker leaves before the last one arrives', async () => {
  const barrier = createBarrier(2);
  const delays = [0, 400];
  const times = await Promise.all(delays.map((delayMs) => pool.run('arriveAfter', { barrier, delayMs })));
  const lastArrival = Math.max(...times.map((t) => t.arrivedMs));
  for (const t of times) assert.ok(t.leftMs >= lastArrival - 1, `left at ${t.leftMs}, before the last arrival at ${lastArrival}`);
  // The early worker really waited, rather than both happening to arrive together.
  assert.ok(times[0]!.leftMs - times[0]!.arrivedMs > 200, `early worker waited only ${times[0]!.leftMs - times[0]!.arrivedMs} ms`);
});

test('barrier: breaking it wakes a waiting worker with an error', async () => {
  const barrier = createBarrier(2);
  const waiting = pool.run('arriveAfter', { barrier, delayMs: 0 });
  await sleep(200);
  breakBarrier(barrier);
  await assert.rejects(waiting, /barrier broken/);
});

test('barrier: times out naming how many parties arrived; rejects a bad party count', () => {
  assert.throws(() => arriveAndWait(createBarrier(3), 50), /timed out after 50 ms with 1 of 3 parties arrived/);
  assert.throws(() => createBarrier(0), /positive integer, got 0/);
  // A single party passes at once.
  arriveAndWait(createBarrier(1), 50);
});

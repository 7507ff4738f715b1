import { setTimeout as sleep } from 'node:timers/promises';
import { arriveAndWait } from '../../src/engine/barrier.js';

/** Input of the barrier test task. */
export interface BarrierTaskInput {
  barrier: SharedArrayBuffer;
  delayMs: number;
}

/** Test task run in a worker: sleeps `delayMs`, waits at the barrier, returns arrival and departure times (ms since the epoch). */
export async function arriveAfter(input: BarrierTaskInput): Promise<{ arrivedMs: number; leftMs: number }> {
  await sleep(input.delayMs);
  const arrivedMs = performance.timeOrigin + performance.now();
  arriveAndWait(input.barrier, 10_000);
  return { arrivedMs, leftMs: performance.timeOrigin + performance.now() };
}

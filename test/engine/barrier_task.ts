import type { TaskResult } from '../../src/engine/worker_protocol.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { arriveAndWait } from '../../src/engine/barrier.js';

/** Input of the barrier test task. */
export interface BarrierTaskInput {
  barrier: SharedArrayBuffer;
  delayMs: number;
}

/** Test task run in a worker: sleeps `delayMs`, waits at the barrier, returns arrival and departure times (ms since the epoch). */
async function arriveAfter(input: BarrierTaskInput): Promise<{ arrivedMs: number; leftMs: number }> {
  await sleep(input.delayMs);
  const arrivedMs = performance.timeOrigin + performance.now();
  arriveAndWait(input.barrier, 10_000);
  return { arrivedMs, leftMs: performance.timeOrigin + performance.now() };
}

/** The barrier tests' worker tasks. */
export const tasks = {
  arriveAfter: async (input: BarrierTaskInput): Promise<TaskResult<{ arrivedMs: number; leftMs: number }>> => ({
    output: await arriveAfter(input),
  }),
};

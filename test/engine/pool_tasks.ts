import { threadId } from 'node:worker_threads';
import type { TaskResult } from '../../src/engine/worker_protocol.js';

/** Tasks for the worker pool's own tests. */
export const tasks = {
  echo: async (x: number): Promise<TaskResult<{ x: number; thread: number }>> => ({ output: { x, thread: threadId } }),
  die: async (code: number): Promise<TaskResult<never>> => process.exit(code),
};

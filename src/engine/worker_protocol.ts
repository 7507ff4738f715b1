import type { BackendChoice } from './backend.js';

/** Parent to worker: run export `fn` of module `module` with `input`. */
export interface RunMessage {
  type: 'run';
  id: number;
  module: string;
  fn: string;
  input: unknown;
}

/** Worker to parent. */
export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'result'; id: number; output: unknown }
  | { type: 'error'; id: number; message: string; stack?: string };

/** Data a worker starts with. */
export interface WorkerInit {
  backend: BackendChoice;
}

/**
 * A task a worker can run: an exported async function taking structured-cloneable input.
 * It may return `{ output, transfer }` to hand buffers back without copying.
 */
export type WorkerTask<I, O> = (input: I) => Promise<O | { output: O; transfer: ArrayBuffer[] }>;

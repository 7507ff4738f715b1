import type { BackendChoice } from './backend.js';

/** What a task returns: its output, and the buffers of it to move instead of copy. */
export interface TaskResult<O> {
  output: O;
  transfer?: ArrayBuffer[];
}

/** A worker task: structured-cloneable input to a result. */
export type Task<I, O> = (input: I) => Promise<TaskResult<O>>;

/**
 * The tasks a pool's workers can run, by name: a module exports one such table as `tasks`, and
 * the pool is typed by it, so a job names a task of the table and passes its input type.
 */
// `never` input: any task's input type is assignable to it, so every table fits.
export type TaskTable = Readonly<Record<string, Task<never, unknown>>>;

/** The input and output types of a table's task. */
export type TaskInput<T> = T extends Task<infer I, unknown> ? I : never;
export type TaskOutput<T> = T extends Task<never, infer O> ? O : never;

/** Parent to worker: run task `task` with `input`. */
export interface RunMessage {
  type: 'run';
  id: number;
  task: string;
  input: unknown;
}

/** Worker to parent. */
export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'result'; id: number; output: unknown }
  | { type: 'error'; id: number; message: string; stack?: string };

/** Data a worker starts with: its backend, its kernel threads, and the module whose `tasks` export it serves. */
export interface WorkerInit {
  backend: BackendChoice;
  threads: number;
  tasks: string;
}

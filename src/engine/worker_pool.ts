import { Worker } from 'node:worker_threads';
import type { BackendChoice } from './backend.js';
import type { RunMessage, WorkerReply } from './worker_protocol.js';

interface Job {
  id: number;
  module: string;
  fn: string;
  input: unknown;
  transfer: ArrayBuffer[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<string>;
  busy: Job | undefined;
}

/**
 * A fixed set of worker threads, each with its own compute engine (wasm has no threads in Node,
 * so parallel clients need parallel engines). Jobs are queued and given to the next idle worker.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    backend: BackendChoice = 'auto',
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`worker count must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { backend } });
      const slot: Slot = { worker, busy: undefined, ready: Promise.resolve('') };
      slot.ready = new Promise((resolve, reject) => {
        const onMessage = (m: WorkerReply): void => {
          if (m.type === 'ready') resolve(m.backend);
          else this.onReply(slot, m);
        };
        worker.on('message', onMessage);
        worker.once('error', (e) => {
          reject(e);
          this.fail(slot, e);
        });
        worker.once('exit', (code) => {
          if (!this.closed) this.fail(slot, new Error(`worker exited with code ${code}`));
        });
      });
      this.slots.push(slot);
    }
  }

  /** Resolves once every worker's engine is up; returns the backend names. */
  async ready(): Promise<string[]> {
    return Promise.all(this.slots.map((s) => s.ready));
  }

  /**
   * Runs export `fn` of `module` (a file URL, e.g. `new URL('./task.js', import.meta.url).href`)
   * on an idle worker. `transfer` lists buffers of `input` to move instead of copy.
   */
  run<O>(module: string, fn: string, input: unknown, transfer: ArrayBuffer[] = []): Promise<O> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, module, fn, input, transfer, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; pending jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('worker pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy !== undefined) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      slot.busy = job;
      const msg: RunMessage = { type: 'run', id: job.id, module: job.module, fn: job.fn, input: job.input };
      slot.worker.postMessage(msg, job.transfer);
    }
  }

  private onReply(slot: Slot, m: WorkerReply): void {
    const job = slot.busy;
    if (job === undefined || m.type === 'ready' || m.id !== job.id) return;
    slot.busy = undefined;
    if (m.type === 'result') job.resolve(m.output);
    else {
      const err = new Error(m.message);
      if (m.stack !== undefined) err.stack = m.stack;
      job.reject(err);
    }
    this.dispatch();
  }

  private fail(slot: Slot, e: Error): void {
    const job = slot.busy;
    slot.busy = undefined;
    job?.reject(e);
  }
}

import { Worker } from 'node:worker_threads';
import type { BackendChoice } from './backend.js';
import type { RunMessage, TaskInput, TaskOutput, TaskTable, WorkerInit, WorkerReply } from './worker_protocol.js';

interface Job {
  id: number;
  task: string;
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
 * A fixed number of worker threads, each with its own compute engine (tfjs-wasm has no threads in
 * Node, so parallel clients need parallel engines; each engine's native kernels may use more), serving one task table. Jobs are queued and
 * given to the next idle worker. A worker that dies fails its job and is replaced, never reused.
 */
export class WorkerPool<T extends TaskTable> {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  /** `tasks` is the URL of a module exporting the task table as `tasks`; each worker's kernels use `threads` threads. */
  constructor(
    readonly size: number,
    private readonly tasks: URL,
    private readonly backend: BackendChoice = 'auto',
    private readonly threads = 1,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`worker count must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) this.slots.push(this.start());
  }

  /** Resolves once every worker's engine is up; returns the backend names. */
  async ready(): Promise<string[]> {
    return Promise.all(this.slots.map((s) => s.ready));
  }

  /** Runs task `task` on an idle worker; `transfer` lists buffers of `input` to move instead of copy. */
  run<K extends keyof T & string>(task: K, input: TaskInput<T[K]>, transfer: ArrayBuffer[] = []): Promise<TaskOutput<T[K]>> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, input, transfer, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; pending jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('worker pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private start(): Slot {
    const init: WorkerInit = { backend: this.backend, threads: this.threads, tasks: this.tasks.href };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    const slot: Slot = { worker, busy: undefined, ready: Promise.resolve('') };
    slot.ready = new Promise((resolve, reject) => {
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') resolve(m.backend);
        else this.onReply(slot, m);
      });
      worker.once('error', (e) => {
        reject(e);
        this.replace(slot, e);
      });
      worker.once('exit', (code) => {
        const e = new Error(`worker exited with code ${code}`);
        reject(e);
        this.replace(slot, e);
      });
    });
    // A dead worker's readiness is not the pool's: a replacement reports its own.
    slot.ready.catch(() => undefined);
    return slot;
  }

  /** Fails the dead worker's job and puts a fresh worker in its place. */
  private replace(slot: Slot, e: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    slot.busy?.reject(e);
    slot.busy = undefined;
    if (this.closed) return;
    void slot.worker.terminate();
    const fresh = this.start();
    this.slots[index] = fresh;
    void fresh.ready.then(
      () => this.dispatch(),
      () => undefined,
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy !== undefined) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      slot.busy = job;
      const msg: RunMessage = { type: 'run', id: job.id, task: job.task, input: job.input };
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
}

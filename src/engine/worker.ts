import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './backend.js';
import type { RunMessage, WorkerInit, WorkerReply } from './worker_protocol.js';

/** Worker entry: one compute engine per thread; runs task functions by module and export name. */
async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker.ts must run in a worker thread');
  const init = workerData as WorkerInit;
  const info = await initBackend(init.backend);
  port.postMessage({ type: 'ready', backend: info.name } satisfies WorkerReply);
  // One task at a time per worker: the pool never sends a second before the first replies.
  port.on('message', (msg: RunMessage) => {
    void (async () => {
      try {
        const mod = (await import(msg.module)) as Record<string, unknown>;
        const fn = mod[msg.fn];
        if (typeof fn !== 'function') throw new Error(`${msg.module} has no exported function ${msg.fn}`);
        const result: unknown = await (fn as (input: unknown) => Promise<unknown>)(msg.input);
        if (result !== null && typeof result === 'object' && 'transfer' in result && 'output' in result) {
          const r = result as { output: unknown; transfer: ArrayBuffer[] };
          port.postMessage({ type: 'result', id: msg.id, output: r.output } satisfies WorkerReply, r.transfer);
        } else port.postMessage({ type: 'result', id: msg.id, output: result } satisfies WorkerReply);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        port.postMessage({ type: 'error', id: msg.id, message: err.message, stack: err.stack } satisfies WorkerReply);
      }
    })();
  });
}

void main();

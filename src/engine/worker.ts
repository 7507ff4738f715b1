import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from './node_backend.js';
import type { RunMessage, TaskResult, TaskTable, WorkerInit, WorkerReply } from './worker_protocol.js';

/** Worker entry: one compute engine per thread; runs the tasks of one task table. */
async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker.ts must run in a worker thread');
  const init = workerData as WorkerInit;
  const info = await initBackend(init.backend, { threads: init.threads });
  const { tasks } = (await import(init.tasks)) as { tasks?: TaskTable };
  if (tasks === undefined) throw new Error(`${init.tasks} exports no task table named tasks`);
  port.postMessage({ type: 'ready', backend: info.name } satisfies WorkerReply);
  // One task at a time per worker: the pool never sends a second before the first replies.
  port.on('message', (msg: RunMessage) => {
    void (async () => {
      try {
        const task = tasks[msg.task] as ((input: unknown) => Promise<TaskResult<unknown>>) | undefined;
        if (task === undefined) throw new Error(`${init.tasks} has no task ${msg.task} (tasks: ${Object.keys(tasks).join(', ')})`);
        const result = await task(msg.input);
        port.postMessage({ type: 'result', id: msg.id, output: result.output } satisfies WorkerReply, result.transfer ?? []);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        port.postMessage({ type: 'error', id: msg.id, message: err.message, stack: err.stack } satisfies WorkerReply);
      }
    })();
  });
}

void main();

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/engine/worker_pool.js';
import type { tasks } from './pool_tasks.js';

test('a worker that dies fails its job and is replaced by a fresh one; the pool keeps its size', async () => {
  const pool = new WorkerPool<typeof tasks>(1, new URL('./pool_tasks.js', import.meta.url), 'cpu');
  try {
    await pool.ready();
    const before = await pool.run('echo', 1);
    await assert.rejects(pool.run('die', 3), /worker exited with code 3/);
    const after = await pool.run('echo', 2);
    assert.equal(after.x, 2);
    assert.notEqual(after.thread, before.thread, 'a new thread, not the dead one');
    const both = await Promise.all([pool.run('echo', 3), pool.run('echo', 4)]);
    assert.deepEqual(
      both.map((b) => b.x),
      [3, 4],
    );
  } finally {
    await pool.close();
  }
});

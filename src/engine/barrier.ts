/**
 * A one-shot rendezvous across worker threads: each party blocks until every party has arrived.
 * The state lives in a SharedArrayBuffer, which postMessage shares rather than copies, so the
 * same barrier can travel inside each worker's task input.
 */

const PARTIES = 0;
const ARRIVED = 1;
const BROKEN = 2;

/** A barrier for `parties` threads, to pass to each of them. */
export function createBarrier(parties: number): SharedArrayBuffer {
  if (!Number.isInteger(parties) || parties < 1) throw new Error(`barrier parties must be a positive integer, got ${parties}`);
  const shared = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  new Int32Array(shared)[PARTIES] = parties;
  return shared;
}

/**
 * Arrives and blocks until all parties have arrived. Throws if another party broke the barrier
 * (it failed before arriving) or if `timeoutMs` passes first, so one failure cannot hang the rest.
 */
export function arriveAndWait(barrier: SharedArrayBuffer, timeoutMs = 10 * 60_000): void {
  const cells = new Int32Array(barrier);
  const parties = Atomics.load(cells, PARTIES);
  let seen = Atomics.add(cells, ARRIVED, 1) + 1;
  if (seen >= parties) {
    Atomics.notify(cells, ARRIVED);
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (seen < parties) {
    if (Atomics.load(cells, BROKEN) !== 0) throw new Error('barrier broken: another worker failed before arriving');
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`barrier timed out after ${timeoutMs} ms with ${seen} of ${parties} parties arrived`);
    Atomics.wait(cells, ARRIVED, seen, left);
    seen = Atomics.load(cells, ARRIVED);
  }
}

/** Marks the barrier broken and wakes the waiting parties, which then throw. */
export function breakBarrier(barrier: SharedArrayBuffer): void {
  const cells = new Int32Array(barrier);
  Atomics.store(cells, BROKEN, 1);
  Atomics.notify(cells, ARRIVED);
}

import type { Frame } from '../gen/harmofl/v1/federation_pb.js';
import { heartbeatFrame } from './frames.js';

/**
 * What the coordinator has for one site, in order: messages as lazy frame sequences (a model is
 * copied into a chunk only when the stream is ready for it). Drained by the site's Pull stream,
 * with a heartbeat when idle.
 */
export class Outbox {
  private readonly queue: Array<Iterable<Frame>> = [];
  private wake: (() => void) | undefined;
  private closed = false;

  /** Queues one message's frames. */
  push(frames: Iterable<Frame>): void {
    this.queue.push(frames);
    this.wake?.();
  }

  /** Ends the drain (the session is over). */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Yields queued frames until closed or `signal` aborts; a heartbeat every `heartbeatMs` of idleness. */
  async *drain(signal: AbortSignal, heartbeatMs: number): AsyncGenerator<Frame> {
    const onAbort = (): void => this.close();
    signal.addEventListener('abort', onAbort);
    try {
      while (!this.closed) {
        const next = this.queue.shift();
        if (next !== undefined) {
          for (const frame of next) {
            if (this.closed) return;
            yield frame;
          }
          continue;
        }
        const idle = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), heartbeatMs);
          this.wake = () => (clearTimeout(timer), resolve(false));
        });
        this.wake = undefined;
        if (idle && !this.closed) yield heartbeatFrame();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

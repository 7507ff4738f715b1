import type { Failure, Grid, RoundTrip, SendOptions, ServerNote, SiteInstruction } from '../fl/grid.js';
import type { Instruction, ReplyTo } from '../fl/messages.js';
import { MessageKind } from '../gen/harmofl/v1/federation_pb.js';
import type { Coordinator } from './coordinator.js';

/**
 * The deployment's grid: instructions go down each connected site's Pull stream and replies come
 * back by Push. A round trip ends when every site answered, failed, or passed the deadline.
 */
export class NetworkGrid implements Grid {
  /** `rejoinWaitMs`: how long a round waits at its start for sites that were connected before and dropped. */
  constructor(
    private readonly coordinator: Coordinator,
    private readonly rejoinWaitMs = 0,
  ) {}

  /** Waits until at least `k` sites are connected, at most `timeoutMs`; returns them. */
  async waitForSites(k: number, timeoutMs: number, onChange?: (connected: string[]) => void): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const connected = this.coordinator.connected();
      if (connected.length >= k) return connected;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `only ${connected.length} of the ${k} sites needed joined within ${timeoutMs / 1000} s (connected: ${connected.join(', ') || 'none'})`,
        );
      await this.coordinator.changes(left);
      onChange?.(this.coordinator.connected());
    }
  }

  async sites(): Promise<string[]> {
    const deadline = Date.now() + this.rejoinWaitMs;
    while (this.coordinator.away().length > 0 && Date.now() < deadline) await this.coordinator.changes(deadline - Date.now());
    return this.coordinator.connected();
  }

  async send<I extends Instruction>(messages: ReadonlyArray<SiteInstruction<I>>, options: SendOptions = {}): Promise<RoundTrip<I>> {
    let done = 0;
    const replies: Array<ReplyTo<I> | undefined> = messages.map(() => undefined);
    const failures: Failure[] = [];
    await Promise.all(
      messages.map(async ({ site, instruction }, i) => {
        const outcome = await this.coordinator.request(site, instruction, options.timeoutMs);
        if ('reply' in outcome) replies[i] = outcome.reply as ReplyTo<I>;
        else failures.push(outcome.failure);
        options.onSettled?.(site, ++done, messages.length);
      }),
    );
    return { replies: replies.filter((r): r is ReplyTo<I> => r !== undefined), failures };
  }

  async note(note: ServerNote): Promise<void> {
    if (note.kind === 'best-round') this.coordinator.broadcast({ kind: MessageKind.BEST_ROUND, round: note.round });
  }
}

import {
  collectRoundTrip,
  type Grid,
  type RoundTrip,
  type SendOptions,
  type ServerNote,
  type SiteInstruction,
  type SiteOutcome,
} from '../fl/grid.js';
import type { Instruction } from '../fl/messages.js';
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
    return collectRoundTrip(
      messages,
      options,
      async ({ site, instruction }) => (await this.coordinator.request(site, instruction, options.timeoutMs)) as SiteOutcome<I>,
    );
  }

  async note(note: ServerNote): Promise<void> {
    if (note.kind === 'best-round') this.coordinator.broadcast({ kind: MessageKind.BEST_ROUND, round: note.round });
  }
}

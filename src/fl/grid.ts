import type { Instruction, ReplyTo } from './messages.js';

/** One instruction addressed to one site. */
export interface SiteInstruction<I extends Instruction = Instruction> {
  site: string;
  instruction: I;
}

/** Why a site gave no usable reply in a round: a normal input of a strategy's aggregation. */
export interface Failure {
  site: string;
  kind: 'timeout' | 'error' | 'rejected' | 'disconnected';
  reason: string;
}

/** What came back from one round trip: replies in the order of the instructions sent, and failures. */
export interface RoundTrip<I extends Instruction> {
  replies: Array<ReplyTo<I>>;
  failures: Failure[];
}

/** Options of one round trip. */
export interface SendOptions {
  /** Replies later than this many milliseconds count as timeouts (none: wait for every site). */
  timeoutMs?: number;
  /** Called as each site's reply (or failure) arrives. */
  onSettled?: (site: string, done: number, total: number) => void;
}

/** A note from the server to every client, outside the round trips (e.g. which round is the best so far). */
export interface ServerNote {
  kind: 'best-round';
  round: number;
}

/**
 * How the round loop reaches clients (after Flower's Grid): the same loop runs over worker threads
 * in simulation or over the network in deployment.
 */
export interface Grid {
  /** The sites that can take part now, in the federation's order. */
  sites(): Promise<string[]>;
  /** Sends instructions and collects replies, or failures for sites that did not answer in time. */
  send<I extends Instruction>(messages: ReadonlyArray<SiteInstruction<I>>, options?: SendOptions): Promise<RoundTrip<I>>;
  /** Tells every client something they keep in their own state (best round: FedBN sites keep their normalization of it). */
  note(note: ServerNote): Promise<void>;
}

/** A site's outcome of one round trip. */
export type SiteOutcome<I extends Instruction> = { reply: ReplyTo<I> } | { failure: Failure };

/** Sends every message through `ask` at once and gathers replies (in the order sent) and failures, telling `onSettled` as each settles. */
export async function collectRoundTrip<I extends Instruction>(
  messages: ReadonlyArray<SiteInstruction<I>>,
  options: SendOptions,
  ask: (message: SiteInstruction<I>) => Promise<SiteOutcome<I>>,
): Promise<RoundTrip<I>> {
  let done = 0;
  const replies: Array<ReplyTo<I> | undefined> = messages.map(() => undefined);
  const failures: Failure[] = [];
  await Promise.all(
    messages.map(async (message, i) => {
      const outcome = await ask(message);
      if ('reply' in outcome) replies[i] = outcome.reply;
      else failures.push(outcome.failure);
      options.onSettled?.(message.site, ++done, messages.length);
    }),
  );
  return { replies: replies.filter((r): r is ReplyTo<I> => r !== undefined), failures };
}

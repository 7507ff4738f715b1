import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Code, ConnectError } from '@connectrpc/connect';
import type { NamedArrays } from '../engine/named_arrays.js';
import type { Failure } from '../fl/grid.js';
import { checkUpdateMatches, MessageError, PROTOCOL_VERSION, validateReply, type Instruction, type Reply } from '../fl/messages.js';
import {
  MessageKind,
  type DataDescription,
  type DataOptions,
  type Frame,
  type JoinRequest,
  type PullRequest,
  type PushResponse,
  type StatusResponse,
} from '../gen/harmofl/v1/federation_pb.js';
import type { ServerKitConfig } from '../pki/kit_config.js';
import { framesOf, MessageAssembler } from './frames.js';
import { Outbox } from './outbox.js';
import { instructionFields, replyOf } from './wire.js';

/** How the coordinator runs: its kit's config, the run, and the limits it enforces. */
export interface CoordinatorOptions {
  kit: ServerKitConfig;
  runId: string;
  data: Omit<DataOptions, '$typeName' | '$unknown'>;
  /** Largest reply the coordinator takes (bytes of arrays); the global model's size bounds train replies anyway. */
  maxReplyBytes: number;
  heartbeatMs: number;
  /** Plain text: a site is whoever it claims to be (local experiments only). */
  insecure: boolean;
  /** Where rejections and connections are logged (one line each). */
  log: (line: string) => void;
}

interface Session {
  site: string;
  outbox: Outbox;
}

interface Pending {
  site: string;
  round: number;
  kind: MessageKind;
  reference: NamedArrays | undefined;
  receiving: boolean;
  settle(outcome: { reply: Reply } | { failure: Failure }): void;
}

type Description = Pick<DataDescription, 'task' | 'format' | 'inputShape' | 'numClasses'>;

const RECENT = 4096;

/**
 * The coordinator's view of the federation: which sites are connected (one Pull stream each),
 * the instructions awaiting replies, and every check a reply must pass. Rejections are logged
 * with site and reason; nothing a site sends can stop the coordinator.
 */
export class Coordinator {
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, Pending>();
  /** Message ids no longer pending, and why: answered, timed out, or the site went away. */
  private readonly settled = new Map<string, string>();
  private readonly rejections = new Map<string, number>();
  private readonly everConnected = new Set<string>();
  private changed: Array<() => void> = [];
  private description: Description | undefined;
  /** What `harmofl status` shows. */
  readonly progress = { phase: 'waiting for sites', round: -1, rounds: 0, lastMetrics: '' };

  constructor(readonly options: CoordinatorOptions) {}

  private get kit(): ServerKitConfig {
    return this.options.kit;
  }

  /** Logs a refusal and counts it against the site. */
  refuse(site: string, reason: string): void {
    this.rejections.set(site, (this.rejections.get(site) ?? 0) + 1);
    this.options.log(`refused ${site}: ${reason}`);
  }

  /** Whether a certificate's site may connect at all (known, not revoked); `reason` when not. */
  admits(site: string | undefined): string | undefined {
    if (site === undefined || site === '') return 'no site name in its certificate';
    if (this.kit.revoked.includes(site)) return `site ${site} is revoked`;
    if (!this.kit.sites.includes(site)) return `site ${site} is not in federation ${this.kit.federation}`;
    return undefined;
  }

  /** The caller's site: its certificate's name, which must match any name it claims. */
  identify(peer: string | undefined, claimed: string): string {
    const site = this.options.insecure ? claimed : peer;
    const refused = (reason: string): never => {
      this.refuse(site || claimed || '(unnamed)', reason);
      throw new ConnectError(reason, Code.PermissionDenied);
    };
    if (site === undefined) return refused('no verified certificate');
    const reason = this.admits(site);
    if (reason !== undefined) refused(reason);
    if (!this.options.insecure && claimed !== '' && claimed !== site)
      refused(`certificate names site ${site}, the message claims ${claimed}`);
    return site;
  }

  /** Answers a site's Join: the run and how to load its data. */
  join(site: string, req: JoinRequest): { runId: string; data: CoordinatorOptions['data']; heartbeatMs: number } {
    const reason =
      req.federation !== this.kit.federation
        ? `it asks for federation ${JSON.stringify(req.federation)}, this is ${this.kit.federation}`
        : req.protocolVersion !== PROTOCOL_VERSION
          ? `protocol version ${req.protocolVersion}; this coordinator speaks ${PROTOCOL_VERSION}`
          : undefined;
    if (reason !== undefined) {
      this.refuse(site, reason);
      throw new ConnectError(reason, Code.FailedPrecondition);
    }
    return { runId: this.options.runId, data: this.options.data, heartbeatMs: this.options.heartbeatMs };
  }

  /** Opens a site's instruction stream (replacing an older one of the same site) and yields its frames until it ends. */
  async *pull(site: string, req: PullRequest, signal: AbortSignal): AsyncGenerator<Frame> {
    const refuse = (reason: string, code: Code): never => {
      this.refuse(site, reason);
      throw new ConnectError(reason, code);
    };
    if (req.federation !== this.kit.federation || req.runId !== this.options.runId)
      refuse(
        `pull for federation ${req.federation} run ${req.runId}; this is ${this.kit.federation} run ${this.options.runId}`,
        Code.FailedPrecondition,
      );
    const d = req.data;
    if (d === undefined) return refuse('pull without a data description', Code.InvalidArgument);
    const description: Description = { task: d.task, format: d.format, inputShape: [...d.inputShape], numClasses: d.numClasses };
    if (this.description !== undefined && !isDeepStrictEqual({ ...description, format: '' }, { ...this.description, format: '' }))
      refuse(
        `its data (${JSON.stringify(description)}) differs from the federation's (${JSON.stringify(this.description)})`,
        Code.FailedPrecondition,
      );
    this.description ??= description;
    this.sessions.get(site)?.outbox.close();
    const session: Session = { site, outbox: new Outbox() };
    this.sessions.set(site, session);
    this.everConnected.add(site);
    this.options.log(`site ${site} connected`);
    this.notify();
    try {
      yield* session.outbox.drain(signal, this.options.heartbeatMs);
    } finally {
      if (this.sessions.get(site) === session) {
        this.sessions.delete(site);
        this.options.log(`site ${site} disconnected`);
        for (const [id, p] of this.pending)
          if (p.site === site && !p.receiving)
            this.settle(id, { failure: { site, kind: 'disconnected', reason: 'the site disconnected' } }, 'the site disconnected');
        this.notify();
      }
    }
  }

  /** Receives one reply from the peer whose certificate names `peer`; every check that fails is logged and answered, never thrown past here. */
  async push(peer: string | undefined, frames: AsyncIterable<Frame>): Promise<Omit<PushResponse, '$typeName' | '$unknown'>> {
    let site = peer ?? '(unnamed)';
    let id: string | undefined;
    let claimed = false;
    try {
      let assembler: MessageAssembler | undefined;
      for await (const frame of frames) {
        const part = frame.part;
        if (part.case === 'header') {
          if (assembler !== undefined) throw new MessageError('a second header in one push');
          const h = part.value;
          site = this.identify(peer, h.site);
          id = h.messageId;
          const where = `reply ${id} from ${site} (round ${h.round + 1})`;
          if (h.federation !== this.kit.federation || h.runId !== this.options.runId)
            throw new MessageError(`${where}: for federation ${h.federation} run ${h.runId}, not this run`);
          const p = this.pending.get(id);
          if (p === undefined) throw new MessageError(`${where}: ${this.settled.get(id) ?? 'no such instruction was sent'}`);
          if (p.site !== site) throw new MessageError(`${where}: that instruction went to ${p.site}`);
          if (h.round !== p.round) throw new MessageError(`${where}: the instruction was for round ${p.round + 1}`);
          if (h.kind !== p.kind) throw new MessageError(`${where}: kind ${h.kind}, expected ${p.kind}`);
          if (p.receiving) throw new MessageError(`${where}: already being received`);
          p.receiving = true;
          claimed = true;
          assembler = new MessageAssembler(where, p.reference === undefined ? 0 : this.options.maxReplyBytes, p.reference);
          assembler.start(h);
        } else if (part.case === 'data') {
          if (assembler === undefined) throw new MessageError('data before the header');
          assembler.data(part.value);
        }
      }
      if (assembler === undefined || id === undefined) throw new MessageError('an empty push');
      const { header, arrays } = assembler.finish();
      const p = this.pending.get(id)!;
      const where = `reply ${id} from ${site} (round ${header.round + 1})`;
      const reply = validateReply(replyOf(header, arrays, where), where);
      if (reply.kind === 'train-reply') checkUpdateMatches(p.reference!, reply.arrays, where);
      this.settle(id, { reply }, 'answered already (a replay)');
      return { accepted: true, reason: '' };
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      this.refuse(site, reason);
      // A reply that was its instruction's answer but failed the checks fails that instruction now.
      if (claimed && id !== undefined) this.settle(id, { failure: { site, kind: 'rejected', reason } }, 'rejected already');
      return { accepted: false, reason };
    }
  }

  /** Sends one instruction and settles with the site's reply or failure (`timeoutMs`: deadline). */
  request(site: string, instruction: Instruction, timeoutMs: number | undefined): Promise<{ reply: Reply } | { failure: Failure }> {
    const session = this.sessions.get(site);
    if (session === undefined) return Promise.resolve({ failure: { site, kind: 'disconnected', reason: 'not connected' } });
    const messageId = randomUUID();
    return new Promise((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(
              () =>
                this.settle(
                  messageId,
                  { failure: { site, kind: 'timeout', reason: `no reply within ${timeoutMs / 1000} s` } },
                  `late: its round-trip deadline (${timeoutMs / 1000} s) had passed`,
                ),
              timeoutMs,
            );
      this.pending.set(messageId, {
        site,
        round: instruction.round,
        kind: instruction.kind === 'train' ? MessageKind.TRAIN_REPLY : MessageKind.EVALUATE_REPLY,
        reference: instruction.kind === 'train' ? instruction.arrays : undefined,
        receiving: false,
        settle: (outcome) => (clearTimeout(timer), resolve(outcome)),
      });
      session.outbox.push(
        framesOf(
          instructionFields(instruction, { federation: this.kit.federation, runId: this.options.runId, messageId }),
          instruction.arrays,
        ),
      );
    });
  }

  /** Queues a note for every connected site. */
  broadcast(fields: Parameters<typeof framesOf>[0]): void {
    for (const s of this.sessions.values())
      s.outbox.push(
        framesOf({
          ...fields,
          protocolVersion: PROTOCOL_VERSION,
          federation: this.kit.federation,
          runId: this.options.runId,
          messageId: randomUUID(),
        }),
      );
  }

  private settle(id: string, outcome: { reply: Reply } | { failure: Failure }, after: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    this.settled.set(id, after);
    if (this.settled.size > RECENT) this.settled.delete(this.settled.keys().next().value!);
    p.settle(outcome);
  }

  private notify(): void {
    const waiting = this.changed;
    this.changed = [];
    for (const w of waiting) w();
  }

  /** Resolves at the next connect or disconnect, or after `ms`. */
  changes(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.changed.push(() => (clearTimeout(timer), resolve()));
    });
  }

  /** Connected sites, in the kit's (the federation's) order. */
  connected(): string[] {
    return this.kit.sites.filter((s) => this.sessions.has(s));
  }

  /** Sites that connected once in this process but are away now. */
  away(): string[] {
    return [...this.everConnected].filter((s) => !this.sessions.has(s));
  }

  /** The data description the first site gave (the model is built from it). */
  data(): Description | undefined {
    return this.description;
  }

  /** What `harmofl status` prints. */
  status(): Omit<StatusResponse, '$typeName' | '$unknown' | 'sites'> & {
    sites: Array<{ site: string; connected: boolean; rejected: number }>;
  } {
    return {
      federation: this.kit.federation,
      runId: this.options.runId,
      phase: this.progress.phase,
      round: this.progress.round,
      rounds: this.progress.rounds,
      lastMetrics: this.progress.lastMetrics,
      sites: this.kit.sites.map((site) => ({ site, connected: this.sessions.has(site), rejected: this.rejections.get(site) ?? 0 })),
    };
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { detectFormat } from '../data/federation.js';
import type { SiteData } from '../data/manifest.js';
import { createClientApp, type ClientApp } from '../fl/client_app.js';
import { ClientStore } from '../fl/client_store.js';
import { PROTOCOL_VERSION, validateInstruction, type Reply } from '../fl/messages.js';
import { federationOf, siteOf, type DataRef } from '../fl/site_data.js';
import { FederationService, MessageKind, type Frame, type Header, type JoinResponse } from '../gen/harmofl/v1/federation_pb.js';
import { parseAddress, type Kit, type SiteKitConfig } from '../pki/kit_config.js';
import { framesOf, MAX_FRAME_BYTES, MessageAssembler } from './frames.js';
import { instructionOf, replyFields } from './wire.js';

/** What `harmofl join` runs with. */
export interface SiteClientOptions {
  kit: Kit<SiteKitConfig>;
  site: string;
  /** The site's data folder (a one-site folder, or a federation folder holding `site`). */
  data: string;
  /** Where the site keeps its context between rounds. */
  state: string;
  /** Plain text, no TLS (local experiments only). */
  insecure?: boolean;
  /** Waits this long before each reply (fault drills: a straggler). */
  replyDelayMs?: number;
  log: (line: string) => void;
}

/** Largest instruction a site takes (its global model), in bytes. */
const MAX_INSTRUCTION_BYTES = 1 << 30;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

type Service = Client<typeof FederationService>;

async function* stream(frames: Iterable<Frame>): AsyncGenerator<Frame> {
  yield* frames;
}

/** One connection to the coordinator's address, with the site's certificate. */
function serviceOf(o: SiteClientOptions): Service {
  const { host, port } = parseAddress(o.kit.config.server, 443);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const transport = createGrpcTransport({
    baseUrl: `${o.insecure === true ? 'http' : 'https'}://${hostPart}:${port}`,
    readMaxBytes: MAX_FRAME_BYTES,
    writeMaxBytes: MAX_FRAME_BYTES,
    nodeOptions: o.insecure === true ? {} : { ca: o.kit.ca, cert: o.kit.cert, key: o.kit.key },
  });
  return createClient(FederationService, transport);
}

/** A site's client: its app, its store, and the loop that reconnects when the coordinator goes away. */
class SiteClient {
  private app: ClientApp | undefined;
  private siteData: SiteData | undefined;
  private dataRef: DataRef | undefined;
  private finished = false;

  private constructor(
    private readonly o: SiteClientOptions,
    private readonly store: ClientStore,
  ) {}

  static async open(o: SiteClientOptions): Promise<SiteClient> {
    return new SiteClient(o, await ClientStore.open(o.site, o.state));
  }

  /** Loads the site's data the way the coordinator says every site loads it (once). */
  private async load(join: JoinResponse): Promise<void> {
    const d = join.data!;
    const ref: DataRef = {
      dir: this.o.data,
      format: detectFormat(this.o.data),
      imbalance: d.imbalance,
      seed: d.seed,
      ...(d.resize > 0 ? { resize: [d.resize, d.resize] as [number, number] } : {}),
    };
    if (this.dataRef !== undefined && JSON.stringify(ref) === JSON.stringify(this.dataRef)) return;
    const fed = await federationOf(ref);
    this.siteData = siteOf(fed, this.o.site, this.o.data);
    this.app = createClientApp(this.siteData, fed);
    this.dataRef = ref;
    this.o.log(
      `data: ${this.siteData.train.size} train, ${this.siteData.val.size} val, ${this.siteData.test.size} test samples (${fed.task})`,
    );
  }

  /** Runs until the coordinator says the run is over. */
  async run(): Promise<void> {
    let failures = 0;
    while (!this.finished) {
      try {
        const connected = await this.session();
        if (connected) failures = 0;
      } catch (e) {
        this.o.log(`connection: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (this.finished) break;
      const wait = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]!;
      this.o.log(`reconnecting in ${wait / 1000} s`);
      await sleep(wait);
    }
  }

  /** One connection: Join, then Pull until the stream ends; true once instructions flowed. */
  private async session(): Promise<boolean> {
    const service = serviceOf(this.o);
    const { federation } = this.o.kit.config;
    const join = await service.join({ federation, site: this.o.site, protocolVersion: PROTOCOL_VERSION });
    await this.load(join);
    const fed = await federationOf(this.dataRef!);
    const first = await this.siteData!.train.get(0);
    const data = {
      task: fed.task,
      format: this.dataRef!.format,
      inputShape: [first.image.channels, first.image.height, first.image.width],
      numClasses: fed.numClasses,
    };
    this.o.log(`joined federation ${federation} run ${join.runId} as ${this.o.site}`);
    let assembler: MessageAssembler | undefined;
    let flowed = false;
    // Ends the Pull stream: when the session ends, or when a coordinator that vanished without
    // closing the connection has sent no heartbeat for a while.
    const pullAbort = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => pullAbort.abort(new Error('the coordinator went silent')), 4 * join.heartbeatMs);
    };
    arm();
    try {
      for await (const frame of service.pull({ federation, site: this.o.site, runId: join.runId, data }, { signal: pullAbort.signal })) {
        flowed = true;
        arm();
        const part = frame.part;
        if (part.case === 'header') {
          if (part.value.kind === MessageKind.BEST_ROUND || part.value.kind === MessageKind.RUN_FINISHED) {
            await this.note(part.value);
            if (this.finished) return true;
            continue;
          }
          assembler = new MessageAssembler(`instruction ${part.value.messageId}`, MAX_INSTRUCTION_BYTES);
          assembler.start(part.value);
        } else if (part.case === 'data') assembler?.data(part.value);
        if (assembler?.complete() === true) {
          const { header, arrays } = assembler.finish();
          assembler = undefined;
          // Training is silence on our side, not the coordinator's.
          clearTimeout(watchdog);
          await this.handle(service, header, arrays);
          arm();
        }
      }
    } finally {
      clearTimeout(watchdog);
      // Cancels the Pull stream when the session ends (on RUN_FINISHED too): leaving the loop alone
      // kept the HTTP/2 stream open, and the coordinator waited out its grace period for us.
      pullAbort.abort();
    }
    return flowed;
  }

  private async note(header: Header): Promise<void> {
    if (header.kind === MessageKind.RUN_FINISHED) {
      this.o.log(`run ${header.runId} finished`);
      this.finished = true;
    } else await this.store.keepBest(header.round);
  }

  private async handle(service: Service, header: Header, arrays: ReturnType<MessageAssembler['finish']>['arrays']): Promise<void> {
    const where = `instruction ${header.messageId} (round ${header.round + 1})`;
    const instruction = validateInstruction(instructionOf(header, arrays, where), where);
    const round = instruction.round;
    let reply: Reply;
    const started = performance.now();
    if (instruction.kind === 'train') {
      this.o.log(`round ${round + 1}: training on ${this.siteData!.train.size} samples`);
      const out = await this.app!.fit(instruction, this.store.forFit(round));
      await this.store.save(out.context);
      reply = out.reply;
      this.o.log(
        `round ${round + 1}: trained ${out.reply.metrics['steps']} steps, loss ${out.reply.metrics['trainLoss']?.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    } else reply = await this.app!.evaluate(instruction, this.store.forEvaluate(round));
    if (this.o.replyDelayMs !== undefined) await sleep(this.o.replyDelayMs);
    const address = { federation: header.federation, runId: header.runId, messageId: header.messageId };
    const entries = reply.kind === 'train-reply' ? Object.values(reply.arrays) : [];
    const bytes = entries.reduce((n, a) => n + a.data.byteLength, 0);
    const ack = await service.push(stream(framesOf(replyFields(reply, address), reply.kind === 'train-reply' ? reply.arrays : {})));
    const what =
      reply.kind === 'train-reply'
        ? `update: ${entries.length} entries, ${bytes} bytes`
        : `evaluation: ${Object.entries(reply.metrics)
            .map(([k, v]) => `${k} ${(v * 100).toFixed(2)}%`)
            .join(', ')}`;
    this.o.log(`round ${round + 1}: sent ${what}${ack.accepted ? '' : `; REFUSED: ${ack.reason}`}`);
  }
}

/** Runs a hospital's client until the coordinator's run is over, reconnecting with backoff. */
export async function runSite(o: SiteClientOptions): Promise<void> {
  await (await SiteClient.open(o)).run();
}

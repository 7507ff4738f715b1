import { create } from '@bufbuild/protobuf';
import { MessageSchema, type Message as ProtoMessage, type ObjectTree } from '../gen/flwr/proto/message_pb.js';
import { describeFleetError, type FleetClient } from './fleet_client.js';
import { deflateMessage, inflateMessage, treeIds, type FlowerMessage } from './message_tree.js';
import type { NodeKey } from './node_auth.js';
import { errorReplyOf } from './replies.js';

/**
 * A Flower 1.23 SuperNode's life on the Fleet API: activate with the node's key, keep a
 * heartbeat, pull a message and its object tree, let `handle` answer it, push the reply's
 * objects, and deactivate when `signal` aborts. SuperLink outages are waited out with
 * exponential backoff; errors a user must fix end the loop with a FleetError.
 */

/** What one message round trip cost: its type, server round, objects and bytes each way, and seconds. */
export interface ExchangeReport {
  type: string;
  /** The server round `handle` found in the message (absent when it could not answer). */
  round?: number;
  pulledObjects: number;
  pulledBytes: number;
  pushedObjects: number;
  pushedBytes: number;
  seconds: number;
  error?: string;
}

/** Everything the loop needs; `handle` turns an instruction message into its reply and names its server round (or throws). */
export interface SuperNodeOptions {
  client: FleetClient;
  endpoint: string;
  key: NodeKey;
  handle: (message: FlowerMessage) => Promise<{ reply: FlowerMessage; round: number }>;
  signal: AbortSignal;
  /** Seconds between heartbeats the SuperLink expects (Flower's range: 10 to 1800). */
  heartbeatInterval?: number;
  /** Milliseconds between PullMessages when nothing is waiting (Flower's SuperNode: 3 s). */
  pollMs?: number;
  /** Backoff after a failed call: first and largest wait, milliseconds. */
  backoffMs?: { first: number; max: number };
  log?: (line: string) => void;
  onExchange?: (report: ExchangeReport) => void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Tries of one object pull while the SuperLink says it is registered but not yet stored. */
const OBJECT_TRIES = 120;

/** Runs the SuperNode until `signal` aborts; resolves after DeactivateNode, rejects with a FleetError a user must act on. */
export async function runSuperNode(o: SuperNodeOptions): Promise<void> {
  const { client, signal } = o;
  const log = o.log ?? (() => {});
  const heartbeatInterval = o.heartbeatInterval ?? 30;
  const backoff = o.backoffMs ?? { first: 1000, max: 30_000 };
  let wait = backoff.first;
  let nodeId: bigint | undefined;
  let down = false;
  const runsSeen = new Set<bigint>();

  /** Runs `call`; on a retryable failure waits (growing backoff) and tries again until `signal` aborts. */
  async function withRetry<T>(rpc: string, call: () => Promise<T>): Promise<T | undefined> {
    while (!signal.aborted) {
      try {
        const out = await call();
        if (down) log(`${rpc} went through after retrying`);
        down = false;
        wait = backoff.first;
        return out;
      } catch (e) {
        // A call cut short by the stop signal is the stop, not a failure.
        if (signal.aborted) return undefined;
        const err = describeFleetError(e, rpc, o.endpoint);
        if (!err.retryable) throw err;
        if (!down) log(`${err.message}; retrying with backoff`);
        down = true;
        await sleep(wait, signal);
        wait = Math.min(backoff.max, wait * 2);
      }
    }
    return undefined;
  }

  const activate = async (): Promise<void> => {
    const res = await withRetry('ActivateNode', () =>
      client.activateNode({ publicKey: o.key.publicKeyPem, heartbeatInterval }, { signal }),
    );
    if (res === undefined) return;
    nodeId = res.nodeId;
    log(`activated as node ${nodeId}`);
  };

  await activate();
  // Heartbeats at 0.8 of the interval, as Flower's HeartbeatSender, so one late beat is tolerated.
  const beat = setInterval(() => {
    if (nodeId === undefined) return;
    client.sendNodeHeartbeat({ node: { nodeId }, heartbeatInterval }, { timeoutMs: 5000 }).then(
      (r) => {
        if (!r.success) {
          log('the SuperLink does not recognize this node any more; activating again');
          nodeId = undefined;
        }
      },
      () => {}, // outages show up in the main loop's calls
    );
  }, heartbeatInterval * 800);
  try {
    while (!signal.aborted) {
      if (nodeId === undefined) await activate();
      const node = { nodeId: nodeId! };
      const pulled = await withRetry('PullMessages', () => client.pullMessages({ node }, { signal }));
      if (pulled === undefined) break;
      const message = pulled.messagesList[0];
      const tree = pulled.messageObjectTrees[0];
      if (message === undefined || tree === undefined) {
        await sleep(o.pollMs ?? 3000, signal);
        continue;
      }
      await exchange(node, message, tree);
    }
  } finally {
    clearInterval(beat);
    if (nodeId !== undefined) {
      try {
        await client.deactivateNode({ nodeId }, { timeoutMs: 5000 });
        log(`deactivated node ${nodeId}`);
      } catch (e) {
        log(`could not deactivate node ${nodeId}: ${describeFleetError(e, 'DeactivateNode', o.endpoint).message}`);
      }
    }
  }

  /** One instruction: pull its objects, confirm, answer, push the reply. */
  async function exchange(node: { nodeId: bigint }, message: ProtoMessage, tree: ObjectTree): Promise<void> {
    const started = performance.now();
    const metadata = message.metadata!;
    const runId = metadata.runId;
    const report: ExchangeReport = {
      type: metadata.messageType,
      pulledObjects: 0,
      pulledBytes: 0,
      pushedObjects: 0,
      pushedBytes: 0,
      seconds: 0,
    };
    if (!runsSeen.has(runId)) {
      runsSeen.add(runId);
      // Only for the log: what the run is does not change how harmofl answers it.
      try {
        const { run } = await client.getRun({ node, runId }, { signal, timeoutMs: 5000 });
        log(`joined run ${runId} (${run?.fabId || 'app'} ${run?.fabVersion ?? ''})`);
      } catch (e) {
        log(`joined run ${runId} (GetRun: ${describeFleetError(e, 'GetRun', o.endpoint).message})`);
      }
    }
    const contents = new Map<string, Uint8Array>();
    for (const id of new Set(treeIds(tree))) {
      const bytes = await pullObject(node, runId, id);
      if (bytes === undefined) return;
      contents.set(id, bytes);
      report.pulledObjects++;
      report.pulledBytes += bytes.length;
    }
    await withRetry('ConfirmMessageReceived', () =>
      client.confirmMessageReceived({ node, runId, messageObjectId: metadata.messageId }, { signal }),
    );
    let reply: FlowerMessage;
    try {
      const instruction = inflateMessage(tree.objectId, contents);
      const answer = await o.handle(instruction);
      reply = answer.reply;
      report.round = answer.round;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      report.error = reason;
      log(`cannot answer ${metadata.messageType || 'an untyped'} message: ${reason}`);
      reply = errorReplyOf({ metadata: { ...metadata, messageId: tree.objectId } }, reason);
    }
    const out = deflateMessage(reply);
    const envelope = create(MessageSchema, {
      metadata: { ...reply.metadata, messageId: out.id },
      // Content travels as objects; the envelope carries an empty RecordDict (or the error).
      ...(reply.error !== undefined ? { error: reply.error } : { content: {} }),
    });
    const pushed = await withRetry('PushMessages', () =>
      client.pushMessages({ node, messagesList: [envelope], messageObjectTrees: [out.tree] }, { signal }),
    );
    if (pushed === undefined) return;
    const wanted = new Set(pushed.objectsToPush);
    for (const id of treeIds(out.tree)) {
      if (!wanted.has(id)) continue;
      wanted.delete(id);
      const bytes = out.objects.get(id)!.bytes;
      const res = await withRetry('PushObject', () => client.pushObject({ node, runId, objectId: id, objectContent: bytes }, { signal }));
      if (res === undefined) return;
      if (!res.stored) {
        log(`the SuperLink did not store object ${id} of the reply (it was not pre-registered); the reply is lost`);
        return;
      }
      report.pushedObjects++;
      report.pushedBytes += bytes.length;
    }
    report.seconds = (performance.now() - started) / 1000;
    o.onExchange?.(report);
  }

  /** One object's bytes, waiting while the SuperLink has it registered but not yet stored. */
  async function pullObject(node: { nodeId: bigint }, runId: bigint, id: string): Promise<Uint8Array | undefined> {
    for (let tries = 0; tries < OBJECT_TRIES && !signal.aborted; tries++) {
      const res = await withRetry('PullObject', () => client.pullObject({ node, runId, objectId: id }, { signal }));
      if (res === undefined) return undefined;
      if (!res.objectFound) {
        log(`the SuperLink does not know object ${id} of the message it sent; skipping the message`);
        return undefined;
      }
      if (res.objectAvailable) return res.objectContent;
      await sleep(500, signal);
    }
    log(`object ${id} never became available; skipping the message`);
    return undefined;
  }
}

import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, decodeBinaryHeader, type ConnectRouter, type ServiceImpl } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Fleet } from '../../src/gen/flwr/proto/fleet_pb.js';
import { MetadataSchema, type Message as ProtoMessage, type ObjectTree } from '../../src/gen/flwr/proto/message_pb.js';
import { connectFleet } from '../../src/flower/fleet_client.js';
import { deflateMessage, inflateMessage, treeIds, type FlowerMessage } from '../../src/flower/message_tree.js';
import { AUTH_HEADERS, loadNodeKey } from '../../src/flower/node_auth.js';
import { replyMetadata } from '../../src/flower/replies.js';
import { runSuperNode } from '../../src/flower/supernode.js';

const key = loadNodeKey(
  generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  'test',
);
const NODE = 4242n;

/** A Flower-like Fleet server on 127.0.0.1 (plaintext HTTP/2) serving `routes`; returns its address and a close function. */
async function serve(routes: (router: ConnectRouter) => void): Promise<{ address: string; close: () => Promise<void> }> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { address: `127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('SuperNode control flow against a fake Fleet server: activate, pull the tree, confirm, answer, push only what is asked, deactivate', async () => {
  const instruction = deflateMessage({
    metadata: create(MetadataSchema, {
      runId: 3n,
      srcNodeId: 1n,
      dstNodeId: NODE,
      ttl: 3600,
      messageType: 'train',
      createdAt: Date.now() / 1000,
      groupId: '1',
    }),
    content: new Map([['config', { kind: 'config', values: new Map([['server-round', 1n]]) }]]),
  });
  const calls: string[] = [];
  const stored = new Map<string, Uint8Array>();
  let pushed: { message: ProtoMessage; tree: ObjectTree } | undefined;
  let served = false;
  const stop = new AbortController();
  const authed = (h: Headers): void => {
    const pem = new TextDecoder().decode(decodeBinaryHeader(h.get(AUTH_HEADERS.publicKey)!));
    assert.equal(pem, new TextDecoder().decode(key.publicKeyPem));
    assert.ok(
      verify(
        'sha256',
        Buffer.from(h.get(AUTH_HEADERS.timestamp)!, 'ascii'),
        createPublicKey(pem),
        decodeBinaryHeader(h.get(AUTH_HEADERS.signature)!),
      ),
      'signed timestamp',
    );
  };
  const alreadyThere = [...instruction.objects.keys()][0]!;
  const impl: Partial<ServiceImpl<typeof Fleet>> = {
    activateNode(req, ctx) {
      authed(ctx.requestHeader);
      calls.push(`activate ${req.heartbeatInterval}`);
      assert.deepEqual(req.publicKey, key.publicKeyPem);
      return { nodeId: NODE };
    },
    sendNodeHeartbeat: () => ({ success: true }),
    getRun: (req) => ({ run: { runId: req.runId, fabId: 'harmofl/harmofl-fedavg', fabVersion: '1.0.0' } }),
    pullMessages(req, ctx) {
      authed(ctx.requestHeader);
      assert.equal(req.node?.nodeId, NODE);
      if (served) return {};
      served = true;
      return { messagesList: [{ metadata: deflatedMetadata(), content: {} }], messageObjectTrees: [instruction.tree] };
    },
    pullObject(req) {
      calls.push('pull');
      const o = instruction.objects.get(req.objectId);
      return o === undefined ? { objectFound: false } : { objectFound: true, objectAvailable: true, objectContent: o.bytes };
    },
    confirmMessageReceived(req) {
      calls.push(`confirm ${req.messageObjectId === instruction.id}`);
      return {};
    },
    pushMessages(req) {
      calls.push('push-messages');
      pushed = { message: req.messagesList[0]!, tree: req.messageObjectTrees[0]! };
      // As a SuperLink would: ask for every object of the tree it does not hold yet.
      return { results: { [pushed.tree.objectId]: 0 }, objectsToPush: treeIds(pushed.tree).filter((id) => id !== alreadyThere) };
    },
    pushObject(req) {
      assert.equal(createHash('sha256').update(req.objectContent).digest('hex'), req.objectId, 'pushed bytes hash to their id');
      stored.set(req.objectId, req.objectContent);
      if (treeIds(pushed!.tree).every((id) => stored.has(id) || id === alreadyThere)) setImmediate(() => stop.abort());
      return { stored: true };
    },
    deactivateNode(req) {
      calls.push(`deactivate ${req.nodeId}`);
      return {};
    },
  };
  function deflatedMetadata(): FlowerMessage['metadata'] {
    return inflateMessage(instruction.id, new Map([...instruction.objects].map(([id, o]) => [id, o.bytes]))).metadata;
  }
  const server = await serve((r) => r.service(Fleet, impl));
  const connection = connectFleet({ address: server.address }, key);
  let handled: FlowerMessage | undefined;
  const lines: string[] = [];
  try {
    await runSuperNode({
      client: connection.client,
      endpoint: server.address,
      key,
      signal: stop.signal,
      log: (l) => lines.push(l),
      heartbeatInterval: 10,
      pollMs: 20,
      handle: async (m) => {
        handled = m;
        return {
          reply: {
            metadata: replyMetadata(m, Date.now() / 1000),
            content: new Map([['metrics', { kind: 'metric', values: new Map([['num-examples', 8n]]) }]]),
          },
          round: 1,
        };
      },
    });
  } finally {
    connection.close();
    await server.close();
  }
  assert.equal(handled?.metadata.messageId, instruction.id);
  assert.ok(lines.includes('joined run 3 (harmofl/harmofl-fedavg 1.0.0)'), lines.join('\n'));
  assert.deepEqual(handled?.content?.get('config'), { kind: 'config', values: new Map([['server-round', 1n]]) });
  assert.deepEqual(calls.slice(0, 1), ['activate 10']);
  assert.equal(calls.filter((c) => c === 'pull').length, instruction.objects.size);
  assert.ok(calls.indexOf('confirm true') < calls.indexOf('push-messages'));
  assert.equal(calls.at(-1), `deactivate ${NODE}`);
  const meta = pushed!.message.metadata!;
  assert.equal(meta.messageId, pushed!.tree.objectId, 'the reply id is its object id');
  assert.equal(meta.replyToMessageId, instruction.id);
  assert.equal(meta.dstNodeId, 1n);
  assert.ok(pushed!.message.content !== undefined, 'the envelope carries an empty RecordDict');
  assert.ok(!stored.has(alreadyThere), 'objects the server holds are not pushed');
});

/** Runs a SuperNode against a fake server with `routes` and expects it to stop with an error matching `pattern`. */
async function failsWith(routes: (router: ConnectRouter) => void, pattern: RegExp): Promise<void> {
  const server = await serve(routes);
  const connection = connectFleet({ address: server.address }, key);
  try {
    await assert.rejects(
      runSuperNode({
        client: connection.client,
        endpoint: server.address,
        key,
        signal: new AbortController().signal,
        handle: () => Promise.reject(new Error('unused')),
      }),
      pattern,
    );
  } finally {
    connection.close();
    await server.close();
  }
}

test('SuperNode errors a user can act on: a Fleet API of another Flower version, an unregistered key', async () => {
  await failsWith(() => {}, /does not implement flwr\.proto\.Fleet\/ActivateNode.*Flower 1\.23/);
  await failsWith(
    (r) =>
      r.service(Fleet, {
        activateNode() {
          throw new ConnectError('No SuperNode found with the given public key.', Code.FailedPrecondition);
        },
      }),
    /key not registered.*flwr supernode register/,
  );
});

test('SuperNode waits out an unreachable SuperLink with backoff and stops cleanly on abort', async () => {
  const stop = new AbortController();
  const connection = connectFleet({ address: '127.0.0.1:1' }, key);
  const lines: string[] = [];
  setTimeout(() => stop.abort(), 300);
  try {
    await runSuperNode({
      client: connection.client,
      endpoint: '127.0.0.1:1',
      key,
      signal: stop.signal,
      backoffMs: { first: 20, max: 50 },
      log: (l) => lines.push(l),
      handle: () => Promise.reject(new Error('unused')),
    });
  } finally {
    connection.close();
  }
  assert.match(lines[0]!, /unreachable .*retrying with backoff/);
  assert.equal(lines.length, 1, 'an outage is reported once, not per retry');
});

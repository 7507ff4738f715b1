import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { FrameSchema, MessageKind } from '../../src/gen/harmofl/v1/federation_pb.js';
import { framesOf } from '../../src/net/frames.js';
import { readSiteKit, type Kit, type SiteKitConfig } from '../../src/pki/kit_config.js';
import { siteKitDir } from '../../src/pki/kits.js';
import { Rng } from '../../src/engine/rng.js';
import { join, serve, SITES, tinyDeployment } from './federation.js';
import { stopAll } from './processes.js';

after(stopAll);

const METHODS = ['Push', 'Join', 'Pull', 'Status'].map((m) => `/harmofl.v1.FederationService/${m}`);
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function grpcFrame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** A well-formed push body (a header naming a model and some data) that mutations start from. */
function pushBody(rng: Rng): Uint8Array {
  const arrays = { w: { shape: [4, 4], data: new Float32Array(16).map(() => rng.uniform()) } };
  const frames = [
    ...framesOf(
      {
        protocolVersion: 1,
        federation: 'tiny',
        runId: 'r',
        round: 0,
        messageId: 'm',
        kind: MessageKind.TRAIN_REPLY,
        site: 'hospital0',
        samples: 8,
      },
      arrays,
    ),
  ];
  return Buffer.concat(frames.map((f) => grpcFrame(toBinary(FrameSchema, f))));
}

function mutate(body: Uint8Array, rng: Rng): Uint8Array {
  const r = rng.uniform();
  const b = Uint8Array.from(body);
  if (r < 0.3) return b.subarray(0, Math.floor(rng.uniform() * b.length));
  if (r < 0.6) {
    for (let i = 0; i < 1 + rng.uniform() * 8; i++) b[Math.floor(rng.uniform() * b.length)] = Math.floor(rng.uniform() * 256);
    return b;
  }
  if (r < 0.8) {
    // A length prefix that lies (up to 4 GiB).
    new DataView(b.buffer).setUint32(1, Math.floor(rng.uniform() * 0xffffffff));
    return b;
  }
  return Uint8Array.from({ length: Math.floor(rng.uniform() * 4096) }, () => Math.floor(rng.uniform() * 256));
}

const settle = (p: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms))]);

async function rawBytes(port: number, rng: Rng): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await settle(new Promise((r) => socket.once('connect', r)), 1000);
  socket.end(Uint8Array.from({ length: Math.floor(rng.uniform() * 4096) }, () => Math.floor(rng.uniform() * 256)));
  await settle(new Promise((r) => socket.once('close', r)), 1000);
  socket.destroy();
}

async function tlsGarbage(port: number, kit: Kit<SiteKitConfig>, rng: Rng): Promise<void> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: kit.ca, cert: kit.cert, key: kit.key, ALPNProtocols: ['h2'] });
  socket.on('error', () => undefined);
  await settle(new Promise((r) => socket.once('secureConnect', r)), 2000);
  socket.end(Uint8Array.from({ length: Math.floor(rng.uniform() * 2048) }, () => Math.floor(rng.uniform() * 256)));
  await settle(new Promise((r) => socket.once('close', r)), 1000);
  socket.destroy();
}

test('fuzz: thousands of mutated frames, truncated messages and random bytes; the coordinator survives with bounded memory and serves honest sites', async () => {
  const { root, data, kits } = await tinyDeployment();
  const { proc, port } = await serve(kits, path.join(root, 'serve'), ['--strategy', 'fedavg', '--rounds', '1', '--min-clients', '3']);
  const pid = proc.child.pid!;
  const before = rssMb(pid);
  const kit = await readSiteKit(siteKitDir(kits, 'hospital0'));
  const rng = new Rng(42);
  const deadline = Date.now() + 60_000;
  const counts = { raw: 0, tls: 0, requests: 0 };
  for (let i = 0; i < 200 && Date.now() < deadline; i += 10) {
    await Promise.all(Array.from({ length: 10 }, () => rawBytes(port, rng)));
    counts.raw += 10;
  }
  for (let i = 0; i < 100 && Date.now() < deadline; i += 10) {
    await Promise.all(Array.from({ length: 10 }, () => tlsGarbage(port, kit, rng)));
    counts.tls += 10;
  }
  const base = pushBody(rng);
  let session: http2.ClientHttp2Session | undefined;
  for (let i = 0; i < 3000 && Date.now() < deadline; i += 25) {
    if (session === undefined || session.closed || session.destroyed) {
      session = http2.connect(`https://127.0.0.1:${port}`, { ca: kit.ca, cert: kit.cert, key: kit.key });
      session.on('error', () => undefined);
    }
    const s = session;
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        const path = rng.uniform() < 0.9 ? METHODS[Math.floor(rng.uniform() * METHODS.length)]! : `/${Math.floor(rng.uniform() * 1e9)}`;
        try {
          const req = s.request({
            ':method': 'POST',
            ':path': path,
            'content-type': rng.uniform() < 0.9 ? 'application/grpc' : 'application/json',
            te: 'trailers',
          });
          req.on('error', () => undefined);
          req.on('data', () => undefined);
          req.end(mutate(base, rng));
          await settle(new Promise((r) => req.once('close', r)), 2000);
          req.close();
        } catch {
          // The session went away under us: counted, and a new one is opened.
        }
      }),
    );
    counts.requests += 25;
  }
  session?.destroy();
  const total = counts.raw + counts.tls + counts.requests;
  assert.ok(total >= 2000, `sent ${JSON.stringify(counts)}`);
  assert.equal(proc.child.exitCode, null, `the coordinator died:\n${proc.output().slice(-2000)}`);
  const grown = rssMb(pid) - before;
  assert.ok(grown < 200, `coordinator memory grew ${grown.toFixed(0)} MB`);
  const honest = SITES.map((s) => join(kits, data, s, port));
  assert.equal(await proc.exited, 0, proc.output().slice(-3000));
  for (const h of honest) assert.equal(await h.exited, 0, h.output());
  process.stdout.write(`# fuzz: ${JSON.stringify(counts)}, coordinator RSS ${before.toFixed(0)} -> ${(before + grown).toFixed(0)} MB\n`);
});

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { ConnectError, Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { FederationService } from '../../src/gen/harmofl/v1/federation_pb.js';
import { readSiteKit } from '../../src/pki/kit_config.js';
import { addSite, provisionFederation, revokeSite, siteKitDir } from '../../src/pki/kits.js';
import { join, serve, SITES, tinyDeployment } from './federation.js';
import { start, stop, stopAll } from './processes.js';

after(stopAll);

test('certificates of another CA, expired, revoked or naming no site of the federation, a wrong claimed name and a plain-text client are refused; honest sites still run', async () => {
  const { root, data, kits } = await tinyDeployment();
  const past = { notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) };
  await addSite(kits, 'expired', past);
  await addSite(kits, 'gone');
  await revokeSite(kits, 'gone');
  const other = path.join(root, 'other');
  await provisionFederation(other, { federation: 'tiny', hosts: ['127.0.0.1'], port: 0, sites: ['hospital0'] });
  // Trusts the real coordinator, but its own certificate is another CA's: the coordinator must refuse it.
  const mallory = path.join(root, 'mallory');
  await cp(siteKitDir(other, 'hospital0'), siteKitDir(mallory, 'hospital0'), { recursive: true });
  await cp(path.join(kits, 'ca', 'ca.pem'), path.join(siteKitDir(mallory, 'hospital0'), 'ca.pem'));
  // Same CA, but a site the coordinator's kit does not list.
  const copy = path.join(root, 'copy');
  await cp(kits, copy, { recursive: true });
  await addSite(copy, 'intruder');

  const { proc, port } = await serve(kits, path.join(root, 'serve'), ['--strategy', 'fedavg', '--rounds', '1', '--min-clients', '3']);
  const attempts = [
    { p: join(other, data, 'hospital0', port), server: /refused connection/ },
    { p: join(mallory, data, 'hospital0', port), server: /refused connection/ },
    { p: join(kits, data, 'expired', port), server: /refused connection/ },
    { p: join(kits, data, 'gone', port), server: /refused gone: site gone is revoked/ },
    { p: join(copy, data, 'intruder', port), server: /refused intruder: site intruder is not in federation tiny/ },
    { p: join(kits, data, 'hospital0', port, ['--insecure']), server: /refused connection/ },
  ];
  for (const a of attempts) {
    await a.p.waitFor(/connection: /);
    await stop(a.p);
    await proc.waitFor(a.server, 10_000);
    assert.doesNotMatch(a.p.output(), /joined federation/);
  }
  // A genuine site claiming another site's name.
  const kit = await readSiteKit(siteKitDir(kits, 'hospital0'));
  const client = createClient(
    FederationService,
    createGrpcTransport({ baseUrl: `https://127.0.0.1:${port}`, nodeOptions: { ca: kit.ca, cert: kit.cert, key: kit.key } }),
  );
  await assert.rejects(
    client.join({ federation: 'tiny', site: 'hospital1', protocolVersion: 1 }),
    (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied,
  );
  await proc.waitFor(/refused hospital0: certificate names site hospital0, the message claims hospital1/, 10_000);
  await assert.rejects(
    client.join({ federation: 'other', site: 'hospital0', protocolVersion: 1 }),
    (e: unknown) => e instanceof ConnectError && e.code === Code.FailedPrecondition,
  );

  const status = start(['status', '--kit', path.join(kits, 'server'), '--server', `127.0.0.1:${port}`]);
  assert.equal(await status.exited, 0, status.output());
  assert.match(status.output(), /federation tiny, run [0-9a-f-]+: waiting for sites/);
  assert.match(status.output(), /gone\s+no\s+[1-9]/);

  const honest = SITES.map((s) => join(kits, data, s, port));
  assert.equal(await proc.exited, 0, proc.output());
  for (const h of honest) assert.equal(await h.exited, 0, h.output());
  assert.match(proc.output(), /round 1: trained hospital0, hospital1, hospital2/);
});

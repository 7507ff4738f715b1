import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../temp_dir.js';
import { readServerConfig, readSiteKit } from '../../src/pki/kit_config.js';

const exec = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

test('provision makes a CA, a server kit and site kits whose certificates chain, name the right subjects and keep keys 0600', async () => {
  const out = path.join(await tempDir('harmofl-pki-'), 'kits');
  await exec('node', [
    cli,
    'provision',
    '--federation',
    'demo',
    '--server',
    'localhost:9443',
    '--hosts',
    '127.0.0.1,::1',
    '--sites',
    'a,b,c',
    '--out',
    out,
  ]);
  const ca = new X509Certificate(await readFile(path.join(out, 'ca', 'ca.pem')));
  assert.ok(ca.ca);
  const server = new X509Certificate(await readFile(path.join(out, 'server', 'server.pem')));
  assert.ok(server.verify(ca.publicKey) && server.checkIssued(ca));
  assert.match(server.subjectAltName ?? '', /DNS:localhost/);
  assert.match(server.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.ok(server.checkHost('localhost') !== undefined && server.checkIP('127.0.0.1') !== undefined);
  for (const site of ['a', 'b', 'c']) {
    const kit = await readSiteKit(path.join(out, `site-${site}`));
    const cert = new X509Certificate(kit.cert);
    assert.ok(cert.verify(ca.publicKey), `${site} chains to the CA`);
    assert.match(cert.subject, new RegExp(`^CN=${site}$`, 'm'));
    assert.equal(kit.config.server, 'localhost:9443');
    assert.equal(kit.config.federation, 'demo');
    assert.equal(await mode(path.join(out, `site-${site}`, 'site.key')), 0o600);
  }
  assert.equal(await mode(path.join(out, 'server', 'server.key')), 0o600);
  assert.equal(await mode(path.join(out, 'ca', 'ca.key')), 0o600);
  const config = await readServerConfig(path.join(out, 'server'));
  assert.deepEqual(config, {
    format: 'harmofl-server-kit',
    federation: 'demo',
    hosts: ['localhost', '127.0.0.1', '::1'],
    port: 9443,
    sites: ['a', 'b', 'c'],
    revoked: [],
  });

  await exec('node', [cli, 'provision', '--out', out, '--add-site', 'd']);
  const d = new X509Certificate(await readFile(path.join(out, 'site-d', 'site.pem')));
  assert.ok(d.verify(ca.publicKey), 'an added site chains to the same CA');
  await exec('node', [cli, 'provision', '--out', out, '--revoke', 'b']);
  const after = await readServerConfig(path.join(out, 'server'));
  assert.deepEqual(after.sites, ['a', 'b', 'c', 'd']);
  assert.deepEqual(after.revoked, ['b']);
  await assert.rejects(exec('node', [cli, 'provision', '--out', out, '--add-site', 'b']), (e: { stderr: string }) =>
    /already in federation/.test(e.stderr),
  );
  await assert.rejects(
    exec('node', [cli, 'provision', '--federation', 'x', '--server', 'h', '--sites', 'a', '--out', out]),
    (e: { stderr: string }) => /already holds a federation/.test(e.stderr),
  );
});

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../engine/atomic_write.js';
import { createCaCertificate, issueCertificate, type LeafRole, type Validity } from './certificates.js';
import { generateKeys, importPrivateKey, privateKeyPem, x509, type Curve, type Key } from './crypto.js';
import { readServerConfig, type ServerKitConfig, type SiteKitConfig } from './kit_config.js';

/** The CA's folder inside a kits folder; it never leaves the machine that provisions. */
interface CaConfig {
  format: 'harmofl-ca';
  federation: string;
  curve: Curve;
}

interface Ca {
  cert: x509.X509Certificate;
  key: Key;
  curve: Curve;
  federation: string;
  pem: string;
}

/** What `harmofl provision` makes a federation from. */
export interface ProvisionPlan {
  federation: string;
  hosts: string[];
  port: number;
  sites: string[];
  curve?: Curve;
}

const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const text = (s: string): Uint8Array[] => [new TextEncoder().encode(s)];
const json = (x: unknown): Uint8Array[] => text(`${JSON.stringify(x, null, 2)}\n`);

/** The folder of a site's kit. */
export function siteKitDir(out: string, site: string): string {
  return path.join(out, `site-${site}`);
}

function checkSiteName(site: string): void {
  if (!SITE_NAME.test(site)) throw new Error(`site name ${JSON.stringify(site)}: use letters, digits, '.', '_' or '-' (at most 64)`);
}

async function writeLeaf(
  dir: string,
  leaf: 'server' | 'site',
  ca: Ca,
  role: LeafRole,
  config: ServerKitConfig | SiteKitConfig,
  validity?: Validity,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = await generateKeys(ca.curve);
  const cert = await issueCertificate(ca, ca.federation, keys.publicKey, role, validity);
  await writeFileAtomic(path.join(dir, 'ca.pem'), text(ca.pem));
  await writeFileAtomic(path.join(dir, `${leaf}.pem`), text(cert.toString('pem')));
  await writeFileAtomic(path.join(dir, `${leaf}.key`), text(await privateKeyPem(keys.privateKey)), { mode: 0o600 });
  await writeFileAtomic(path.join(dir, `${leaf}.json`), json(config));
}

async function readCa(out: string): Promise<Ca> {
  const dir = path.join(out, 'ca');
  if (!existsSync(path.join(dir, 'ca.key'))) throw new Error(`${out} has no CA (ca/ca.key); provision the federation first`);
  const config = JSON.parse(await readFile(path.join(dir, 'ca.json'), 'utf8')) as CaConfig;
  const pem = await readFile(path.join(dir, 'ca.pem'), 'utf8');
  return {
    cert: new x509.X509Certificate(pem),
    key: await importPrivateKey(await readFile(path.join(dir, 'ca.key'), 'utf8'), config.curve),
    curve: config.curve,
    federation: config.federation,
    pem,
  };
}

async function writeSiteKit(out: string, ca: Ca, server: ServerKitConfig, site: string, validity?: Validity): Promise<void> {
  const host = server.hosts[0]!;
  const config: SiteKitConfig = {
    format: 'harmofl-site-kit',
    federation: ca.federation,
    site,
    server: `${host.includes(':') ? `[${host}]` : host}:${server.port}`,
  };
  await writeLeaf(siteKitDir(out, site), 'site', ca, { kind: 'site', site }, config, validity);
}

/** Creates the CA, the server's kit and one kit per site under `out` (refuses a folder that already has a CA). */
export async function provisionFederation(out: string, plan: ProvisionPlan): Promise<void> {
  if (existsSync(path.join(out, 'ca'))) throw new Error(`${out} already holds a federation; use --add-site or --revoke, or another --out`);
  if (plan.hosts.length === 0) throw new Error('the server needs at least one host name or IP');
  plan.sites.forEach(checkSiteName);
  if (new Set(plan.sites).size !== plan.sites.length) throw new Error('--sites names a site twice');
  const curve = plan.curve ?? 'P-256';
  const keys = await generateKeys(curve);
  const cert = await createCaCertificate(plan.federation, keys, curve);
  const ca: Ca = { cert, key: keys.privateKey, curve, federation: plan.federation, pem: cert.toString('pem') };
  const caDir = path.join(out, 'ca');
  await mkdir(caDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path.join(caDir, 'ca.pem'), text(ca.pem));
  await writeFileAtomic(path.join(caDir, 'ca.key'), text(await privateKeyPem(keys.privateKey)), { mode: 0o600 });
  await writeFileAtomic(path.join(caDir, 'ca.json'), json({ format: 'harmofl-ca', federation: plan.federation, curve } satisfies CaConfig));
  const server: ServerKitConfig = {
    format: 'harmofl-server-kit',
    federation: plan.federation,
    hosts: plan.hosts,
    port: plan.port,
    sites: plan.sites,
    revoked: [],
  };
  await writeLeaf(path.join(out, 'server'), 'server', ca, { kind: 'server', hosts: plan.hosts }, server);
  for (const site of plan.sites) await writeSiteKit(out, ca, server, site);
}

/** Adds a site to the federation in `out` with the existing CA; `validity` is for drills (an expired certificate). */
export async function addSite(out: string, site: string, validity?: Validity): Promise<void> {
  checkSiteName(site);
  const ca = await readCa(out);
  const serverDir = path.join(out, 'server');
  const server = await readServerConfig(serverDir);
  if (server.sites.includes(site)) throw new Error(`site ${site} is already in federation ${server.federation}`);
  if (server.revoked.includes(site)) throw new Error(`site ${site} was revoked; give the new site another name`);
  await writeSiteKit(out, ca, server, site, validity);
  await writeFileAtomic(path.join(serverDir, 'server.json'), json({ ...server, sites: [...server.sites, site] }));
}

/** Puts a site on the server kit's revocation list: the server refuses its certificate from then on. */
export async function revokeSite(out: string, site: string): Promise<void> {
  const serverDir = path.join(out, 'server');
  const server = await readServerConfig(serverDir);
  if (!server.sites.includes(site))
    throw new Error(`site ${site} is not in federation ${server.federation} (sites: ${server.sites.join(', ')})`);
  if (server.revoked.includes(site)) return;
  await writeFileAtomic(path.join(serverDir, 'server.json'), json({ ...server, revoked: [...server.revoked, site] }));
}

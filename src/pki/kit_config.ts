import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** `server.json` of the server's kit: who may join, and who may no longer. */
export interface ServerKitConfig {
  format: 'harmofl-server-kit';
  federation: string;
  /** Host names and IPs in the server certificate; the first is where sites dial. */
  hosts: string[];
  port: number;
  /** The federation's sites, in the federation's order (the round loop's site order). */
  sites: string[];
  revoked: string[];
}

/** `site.json` of a site's kit. */
export interface SiteKitConfig {
  format: 'harmofl-site-kit';
  federation: string;
  site: string;
  /** Where the coordinator listens, `host:port`. */
  server: string;
}

/** A kit as TLS needs it: PEM text of the CA, the participant's certificate and key, and its config. */
export interface Kit<C> {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  config: C;
}

async function readJson<C>(file: string, format: string): Promise<C> {
  let parsed: { format?: unknown };
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as { format?: unknown };
  } catch (e) {
    throw new Error(`${file}: cannot read the kit's config (${(e as Error).message}); make kits with harmofl provision`);
  }
  if (parsed.format !== format) throw new Error(`${file} is not a ${format} config`);
  return parsed as C;
}

async function readKit<C>(dir: string, leaf: 'server' | 'site', format: string): Promise<Kit<C>> {
  const read = (name: string): Promise<string> => readFile(path.join(dir, name), 'utf8');
  return {
    dir,
    ca: await read('ca.pem'),
    cert: await read(`${leaf}.pem`),
    key: await read(`${leaf}.key`),
    config: await readJson<C>(path.join(dir, `${leaf}.json`), format),
  };
}

/** Reads the server's kit folder. */
export function readServerKit(dir: string): Promise<Kit<ServerKitConfig>> {
  return readKit(dir, 'server', 'harmofl-server-kit');
}

/** Reads a site's kit folder. */
export function readSiteKit(dir: string): Promise<Kit<SiteKitConfig>> {
  return readKit(dir, 'site', 'harmofl-site-kit');
}

/** Reads only `server.json` (the revocation list changes while the server runs). */
export function readServerConfig(dir: string): Promise<ServerKitConfig> {
  return readJson<ServerKitConfig>(path.join(dir, 'server.json'), 'harmofl-server-kit');
}

/** Splits `host[:port]` (IPv6 in brackets), with `fallbackPort` when none is given. */
export function parseAddress(address: string, fallbackPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  if (m === null) throw new Error(`${JSON.stringify(address)} is not host[:port]`);
  const port = m[2] === undefined ? fallbackPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${JSON.stringify(address)}: port must be 0..65535`);
  return { host: m[1]!, port };
}

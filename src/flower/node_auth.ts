import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';

/**
 * SuperNode authentication as Flower 1.23's SuperLink checks it on every Fleet call: gRPC
 * metadata with the node's public key (PEM SubjectPublicKeyInfo, `flwr-public-key-bin`), the
 * current time (`flwr-timestamp`, Python's `datetime.isoformat()` in UTC) and an ECDSA-SHA256
 * signature of that timestamp (DER, `flwr-signature-bin`). The SuperLink accepts timestamps up
 * to 300 s old and 5 s ahead, and the key must have been registered (`flwr supernode register`).
 */

/** The metadata keys (binary ones end in `-bin`, as gRPC requires). */
export const AUTH_HEADERS = { publicKey: 'flwr-public-key-bin', timestamp: 'flwr-timestamp', signature: 'flwr-signature-bin' } as const;

/** A node's key pair and the public key bytes the SuperLink knows it by. */
export interface NodeKey {
  privateKey: KeyObject;
  /** PEM SubjectPublicKeyInfo, byte for byte what Flower's `public_key_to_bytes` writes. */
  publicKeyPem: Uint8Array;
}

/** A key file harmofl cannot use, with what to do about it. */
export class NodeKeyError extends Error {
  override readonly name = 'NodeKeyError';
}

const NIST_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1', 'P-256', 'P-384', 'P-521']);

/** Reads SSH wire strings (u32 length, bytes) and u32s from a buffer, front to back. */
function sshReader(buf: Buffer): { u32(): number; bytes(): Buffer } {
  let at = 0;
  return {
    u32() {
      at += 4;
      return buf.readUInt32BE(at - 4);
    },
    bytes() {
      const n = buf.readUInt32BE(at);
      at += 4 + n;
      return buf.subarray(at - n, at);
    },
  };
}

const SSH_CURVES: Readonly<Record<string, { crv: string; size: number }>> = {
  nistp256: { crv: 'P-256', size: 32 },
  nistp384: { crv: 'P-384', size: 48 },
  nistp521: { crv: 'P-521', size: 66 },
};

/** Reads an OpenSSH `openssh-key-v1` ECDSA private key (what `ssh-keygen -t ecdsa -b 384` writes) as a JWK. */
function opensshEcdsaJwk(text: string, where: string): { kty: 'EC'; crv: string; x: string; y: string; d: string } {
  const buf = Buffer.from(text.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (buf.subarray(0, magic.length).toString('latin1') !== magic) throw new NodeKeyError(`${where}: not an openssh-key-v1 private key`);
  const outer = sshReader(buf.subarray(magic.length));
  const cipher = outer.bytes().toString();
  if (cipher !== 'none')
    throw new NodeKeyError(`${where}: the key is passphrase-protected (${cipher}); harmofl needs an unencrypted key (ssh-keygen -N "")`);
  outer.bytes(); // kdf name
  outer.bytes(); // kdf options
  if (outer.u32() !== 1) throw new NodeKeyError(`${where}: the file must hold exactly one key`);
  outer.bytes(); // public key blob (repeated in the private section)
  const inner = sshReader(outer.bytes());
  if (inner.u32() !== inner.u32()) throw new NodeKeyError(`${where}: corrupt private section (check integers differ)`);
  const type = inner.bytes().toString();
  if (!type.startsWith('ecdsa-sha2-nistp'))
    throw new NodeKeyError(`${where}: a ${type} key; Flower node authentication needs an ECDSA key (ssh-keygen -t ecdsa -b 384)`);
  const curve = SSH_CURVES[inner.bytes().toString()];
  const q = inner.bytes();
  let d = inner.bytes();
  if (curve === undefined || q[0] !== 4 || q.length !== 1 + 2 * curve.size) throw new NodeKeyError(`${where}: unsupported ECDSA curve`);
  // The private scalar is an SSH mpint: strip its sign byte and left-pad to the curve size.
  while (d.length > curve.size && d[0] === 0) d = d.subarray(1);
  const scalar = Buffer.concat([Buffer.alloc(curve.size - d.length), d]);
  return {
    kty: 'EC',
    crv: curve.crv,
    x: q.subarray(1, 1 + curve.size).toString('base64url'),
    y: q.subarray(1 + curve.size).toString('base64url'),
    d: scalar.toString('base64url'),
  };
}

/** Loads a node's private key: OpenSSH (as Flower's docs make them), PKCS#8 or SEC1 PEM; NIST EC curves only. */
export function loadNodeKey(text: string, where: string): NodeKey {
  let privateKey: KeyObject;
  try {
    privateKey = text.includes('BEGIN OPENSSH PRIVATE KEY')
      ? createPrivateKey({ key: opensshEcdsaJwk(text, where), format: 'jwk' })
      : createPrivateKey(text);
  } catch (e) {
    if (e instanceof NodeKeyError) throw e;
    throw new NodeKeyError(
      `${where}: not a private key harmofl can read (${(e as Error).message}); make one with ssh-keygen -t ecdsa -b 384 -N "" -f site`,
    );
  }
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (privateKey.asymmetricKeyType !== 'ec' || curve === undefined || !NIST_CURVES.has(curve))
    throw new NodeKeyError(`${where}: a ${privateKey.asymmetricKeyType} key; Flower needs an ECDSA key on a NIST curve (P-384 by default)`);
  const publicKeyPem = new TextEncoder().encode(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string);
  return { privateKey, publicKeyPem };
}

/** `date` as Python's `datetime.now(tz=timezone.utc).isoformat()` writes it (microseconds, +00:00). */
export function pythonIsoTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-12-02T01:02:03.456Z
  return `${iso.slice(0, 23)}000+00:00`;
}

/** The three authentication metadata values for a call made at `date`. */
export function authMetadata(key: NodeKey, date: Date = new Date()): { publicKey: Uint8Array; timestamp: string; signature: Uint8Array } {
  const timestamp = pythonIsoTimestamp(date);
  const signature = sign('sha256', new TextEncoder().encode(timestamp), key.privateKey);
  return { publicKey: key.publicKeyPem, timestamp, signature: new Uint8Array(signature) };
}

// @peculiar/x509's dependency injection needs the reflect polyfill loaded before it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** The curves a federation's keys can use. */
export type Curve = 'P-256' | 'P-384';

/** A WebCrypto key and key pair (Node's types: the project has no DOM lib). */
export type Key = webcrypto.CryptoKey;
export type KeyPair = webcrypto.CryptoKeyPair;

// @peculiar/x509 signs through WebCrypto; Node's is the one to use.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The ECDSA parameters of a curve: key generation and the matching signature hash. */
export function ecdsa(curve: Curve): { key: webcrypto.EcKeyGenParams; sign: webcrypto.EcdsaParams } {
  return { key: { name: 'ECDSA', namedCurve: curve }, sign: { name: 'ECDSA', hash: curve === 'P-256' ? 'SHA-256' : 'SHA-384' } };
}

/** A fresh key pair on `curve` (extractable: it is written to the kit once, then never leaves it). */
export async function generateKeys(curve: Curve): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(ecdsa(curve).key, true, ['sign', 'verify'])) as KeyPair;
}

/** A private key as PKCS#8 PEM (what Node's TLS reads). */
export async function privateKeyPem(key: Key): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/** Reads a PKCS#8 PEM private key for signing on `curve`. */
export async function importPrivateKey(pem: string, curve: Curve): Promise<Key> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ecdsa(curve).key, false, ['sign']);
}

export { x509 };

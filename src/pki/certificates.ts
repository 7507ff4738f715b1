import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { ecdsa, x509, type Curve, type Key, type KeyPair } from './crypto.js';

/** Validity of a certificate; defaults: from an hour ago (clock skew) for `days`. */
export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

const DAY_MS = 86_400_000;

/** The subject of the coordinator's certificate: never a valid site name, so it cannot pose as one. */
export const COORDINATOR_CN = 'harmofl coordinator';

function serial(): string {
  // Positive 128-bit serial: the top bit cleared so DER keeps it unsigned.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function window(days: number, v: Validity): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date(Date.now() - 3_600_000);
  return { notBefore, notAfter: v.notAfter ?? new Date(notBefore.getTime() + days * DAY_MS) };
}

/** A self-signed CA certificate for a federation (10 years). */
export async function createCaCertificate(federation: string, keys: KeyPair, curve: Curve): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [`harmofl ${federation} CA`] }, { O: [federation] }],
    ...window(3650, {}),
    signingAlgorithm: ecdsa(curve).sign,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

/** What a leaf certificate is for: the server (names it answers to) or one site (its name is the subject). */
export type LeafRole = { kind: 'server'; hosts: readonly string[] } | { kind: 'site'; site: string };

/** A certificate for `publicKey` signed by the CA (2 years unless `validity` says otherwise). */
export async function issueCertificate(
  ca: { cert: x509.X509Certificate; key: Key; curve: Curve },
  federation: string,
  publicKey: Key,
  role: LeafRole,
  validity: Validity = {},
): Promise<x509.X509Certificate> {
  const cn = role.kind === 'server' ? COORDINATOR_CN : role.site;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    // The coordinator's certificate is a client one too: `harmofl status` dials with the server's kit.
    new x509.ExtendedKeyUsageExtension(
      role.kind === 'server' ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (role.kind === 'server')
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        role.hosts.map((h) => ({ type: isIP(h) !== 0 ? ('ip' as const) : ('dns' as const), value: h })),
        false,
      ),
    );
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [cn] }, { O: [federation] }],
    issuer: ca.cert.subjectName,
    ...window(730, validity),
    signingAlgorithm: ecdsa(ca.curve).sign,
    publicKey,
    signingKey: ca.key,
    extensions,
  });
}

import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { test } from 'node:test';
import { authMetadata, loadNodeKey, NodeKeyError, pythonIsoTimestamp } from '../../src/flower/node_auth.js';

// A throwaway key made for this test with `ssh-keygen -t ecdsa -b 384 -N "" -C ""` (OpenSSH format, as
// Flower's docs make node keys), and the public key PEM Flower's `flwr supernode register` derives
// from its .pub with cryptography's load_ssh_public_key(...).public_bytes(PEM, SubjectPublicKeyInfo).
const OPENSSH_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAiAAAABNlY2RzYS
1zaGEyLW5pc3RwMzg0AAAACG5pc3RwMzg0AAAAYQR3P+MVa95szJ8CLipTmeRa4ypon0Oq
DHHEO00y0ckIJYvUWoVY48JJ9nRV+m4NzIv4l1A3S+Azvh+huTht74O5bhb9bPTyEkHDUJ
z3DNQEOdUG6RvklJGbYvTY0WVZgT8AAADIvxi6Bb8YugUAAAATZWNkc2Etc2hhMi1uaXN0
cDM4NAAAAAhuaXN0cDM4NAAAAGEEdz/jFWvebMyfAi4qU5nkWuMqaJ9DqgxxxDtNMtHJCC
WL1FqFWOPCSfZ0VfpuDcyL+JdQN0vgM74fobk4be+DuW4W/Wz08hJBw1Cc9wzUBDnVBukb
5JSRm2L02NFlWYE/AAAAMH8QdjAV1EZKM0km7bDcldGSVshWZJR5mmoMYBQXhX+pfXBhpU
vE2/2+kIa2bMODsgAAAAA=
-----END OPENSSH PRIVATE KEY-----
`;
const REGISTERED_PEM = `-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEdz/jFWvebMyfAi4qU5nkWuMqaJ9Dqgxx
xDtNMtHJCCWL1FqFWOPCSfZ0VfpuDcyL+JdQN0vgM74fobk4be+DuW4W/Wz08hJB
w1Cc9wzUBDnVBukb5JSRm2L02NFlWYE/
-----END PUBLIC KEY-----
`;

test('node auth: an OpenSSH ECDSA P-384 key gives the PEM public key Flower registers', () => {
  const key = loadNodeKey(OPENSSH_KEY, 'test key');
  assert.equal(new TextDecoder().decode(key.publicKeyPem), REGISTERED_PEM);
  assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
});

test('node auth: the metadata is PEM public key, Python-style ISO timestamp, and an ECDSA-SHA256 signature of it', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const key = loadNodeKey(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'pkcs8');
  const m = authMetadata(key, new Date(Date.UTC(2026, 11, 2, 1, 2, 3, 456)));
  assert.equal(m.timestamp, '2026-12-02T01:02:03.456000+00:00');
  const pem = new TextDecoder().decode(m.publicKey);
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
  assert.ok(verify('sha256', Buffer.from(m.timestamp, 'ascii'), createPublicKey(pem), m.signature));
  assert.ok(!verify('sha256', Buffer.from(pythonIsoTimestamp(new Date(0)), 'ascii'), createPublicKey(pem), m.signature));
  // DER-encoded signature (what cryptography's ec.ECDSA(SHA256) produces and verifies): a SEQUENCE.
  assert.equal(m.signature[0], 0x30);
});

test('node auth: keys Flower cannot use are refused with what to do', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  assert.throws(() => loadNodeKey(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'ed'), NodeKeyError);
  assert.throws(() => loadNodeKey('not a key', 'junk'), /ssh-keygen -t ecdsa -b 384/);
});

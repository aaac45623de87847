import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWeftError } from '../errors.js';
import type { WeftErrorCode } from '../errors.js';
import { CertificateAuthority, SVID_BACKDATE_MS } from './ca.js';
import { ROOT_CERT_FILE, ROOT_KEY_FILE } from './ca-state-dir.js';
import { decodePemBlocks, encodePem, splitPemCertificates } from './pem.js';
import { verifySvidChain } from './svid.js';
import { createCsr, generateWorkloadKey } from './workload-key.js';
import { x509 } from './x509-runtime.js';

const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const HOUR = 3_600_000;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-ca-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
}

function refused(code: WeftErrorCode, ...words: string[]) {
  return (err: unknown): boolean => isWeftError(err, code) && words.every((w) => err.message.includes(w));
}

async function csrWith(
  names: Array<Array<{ type: 'url' | 'dns'; value: string }>>,
  algorithm: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' },
): Promise<string> {
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const signingAlgorithm = algorithm.name === 'ECDSA' ? ECDSA_SHA256 : algorithm;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm,
    extensions: names.map((n) => new x509.SubjectAlternativeNameExtension(n)),
  });
  return csr.toString('pem');
}

async function makeCaCert(options: {
  name: string;
  issuer?: { name: string; keys: webcrypto.CryptoKeyPair };
  ca?: boolean;
  now: number;
}): Promise<{ pem: string; keys: webcrypto.CryptoKeyPair; keyPem: string }> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const issuer = options.issuer ?? { name: options.name, keys };
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: options.name,
    issuer: issuer.name,
    notBefore: new Date(options.now - HOUR),
    notAfter: new Date(options.now + 365 * 24 * HOUR),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(options.ca ?? true, undefined, true),
      new x509.KeyUsagesExtension(
        options.ca === false ? x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { pem: cert.toString('pem'), keys, keyPem: encodePem('PRIVATE KEY', pkcs8) };
}

describe('CertificateAuthority with its own root', () => {
  test('issues an SVID that follows every X509-SVID rule', async () => {
    const now = Date.now();
    const ca = await CertificateAuthority.loadOrCreate(join(dir, 'own-root'), { clock: () => now, trustDomain: 'cluster.local' });
    const key = await generateWorkloadKey();
    const svid = await ca.signCsr(await createCsr(key, WEB), { spiffeId: WEB, ttlMs: HOUR });

    const leaf = new X509Certificate(svid.certPem);
    const root = new X509Certificate(ca.trustBundlePem());
    assert.equal(leaf.ca, false);
    assert.equal(leaf.subjectAltName, `URI:${WEB}`);
    assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey));
    assert.ok(leaf.checkPrivateKey(createPrivateKey(key.privateKeyPem)));
    assert.equal(Date.parse(leaf.validFrom), Math.floor((now - SVID_BACKDATE_MS) / 1000) * 1000);
    assert.equal(Date.parse(leaf.validTo), Math.floor((now + HOUR) / 1000) * 1000);
    assert.equal(svid.notAfter.getTime(), Date.parse(leaf.validTo));
    assert.equal(svid.chainPem, svid.certPem, 'a root-signed SVID is served alone');
    assert.ok(leaf.serialNumber.length <= 40 && parseInt(leaf.serialNumber[0] ?? '8', 16) < 8, leaf.serialNumber);
    assert.equal(verifySvidChain(svid.certPem, splitPemCertificates(svid.chainPem), [ca.trustBundlePem()], now), WEB);

    const text = openssl(['x509', '-noout', '-text'], svid.certPem);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.doesNotMatch(text, /Certificate Sign|CRL Sign/);
    assert.match(text, /X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    assert.match(text, new RegExp(`X509v3 Subject Alternative Name: critical\\s+URI:${WEB}\\n`));
    assert.equal(text.match(/URI:/g)?.length, 1);
    assert.match(text, /Subject: *\n/);
    const ski = /X509v3 Subject Key Identifier:\s+([0-9A-F:]+)/.exec(openssl(['x509', '-noout', '-text'], ca.caCertPem))?.[1];
    assert.ok(ski);
    assert.match(text, new RegExp(`X509v3 Authority Key Identifier:\\s+(keyid:)?${ski}`));
    assert.match(text, /X509v3 Subject Key Identifier:\s+[0-9A-F:]{59}/);

    const bundle = join(dir, 'bundle.pem');
    const leafFile = join(dir, 'leaf.pem');
    await writeFile(bundle, ca.trustBundlePem());
    await writeFile(leafFile, svid.certPem);
    for (const purpose of ['sslclient', 'sslserver']) {
      assert.match(openssl(['verify', '-purpose', purpose, '-CAfile', bundle, leafFile]), /: OK/);
    }
  });

  test('makes a 10-year CA root with the documented subject and usages', async () => {
    const now = Date.now();
    const ca = await CertificateAuthority.loadOrCreate(join(dir, 'root-profile'), { clock: () => now });
    const text = openssl(['x509', '-noout', '-text'], ca.caCertPem);
    assert.match(text, /Subject: O ?= ?weft, CN ?= ?weft root CA/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    assert.match(text, /ASN1 OID: prime256v1/);
    const years = (ca.notAfter.getTime() - now) / (365.25 * 24 * HOUR);
    assert.ok(Math.abs(years - 10) < 0.01, String(years));
  });

  test('reloads the same root from its state dir, key 0600 and dir 0700', async () => {
    const state = join(dir, 'reload');
    const first = await CertificateAuthority.loadOrCreate(state);
    const second = await CertificateAuthority.loadOrCreate(state);
    assert.equal(second.caCertPem, first.caCertPem);
    assert.equal(second.trustBundlePem(), first.trustBundlePem());
    assert.equal((await stat(join(state, ROOT_KEY_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(state)).mode & 0o777, 0o700);
    // An SVID from the reloaded CA verifies against the first one's bundle: same key, not just same cert.
    const key = await generateWorkloadKey();
    const svid = await second.signCsr(await createCsr(key, WEB), { spiffeId: WEB, ttlMs: HOUR });
    assert.equal(verifySvidChain(svid.certPem, [], [first.trustBundlePem()], Date.now()), WEB);
    await unlink(join(state, ROOT_CERT_FILE));
    await assert.rejects(CertificateAuthority.loadOrCreate(state), refused('CA_INVALID', 'incomplete', ROOT_CERT_FILE));
  });

  test('never issues beyond its own notAfter, and refuses once expired', async () => {
    const clock = { now: Date.now() };
    const ca = await CertificateAuthority.loadOrCreate(join(dir, 'expiry'), { clock: () => clock.now });
    const csr = await createCsr(await generateWorkloadKey(), WEB);
    clock.now = ca.notAfter.getTime() - HOUR;
    const svid = await ca.signCsr(csr, { spiffeId: WEB, ttlMs: 24 * HOUR });
    assert.equal(svid.notAfter.getTime(), Math.floor(ca.notAfter.getTime() / 1000) * 1000);
    clock.now = ca.notAfter.getTime();
    await assert.rejects(ca.signCsr(csr, { spiffeId: WEB, ttlMs: HOUR }), refused('CA_INVALID', 'expired'));
  });
});

describe('CSR refusals', () => {
  let ca: CertificateAuthority;
  before(async () => {
    ca = await CertificateAuthority.loadOrCreate(join(dir, 'refusals'));
  });
  const sign = (csr: string, spiffeId = WEB): Promise<unknown> => ca.signCsr(csr, { spiffeId, ttlMs: HOUR });

  test('a CSR for another SPIFFE ID, naming both', async () => {
    const other = 'spiffe://cluster.local/ns/default/sa/admin';
    const csr = await createCsr(await generateWorkloadKey(), other);
    await assert.rejects(sign(csr), refused('CSR_IDENTITY_MISMATCH', other, WEB));
  });

  test('a CSR with two URI SANs (in one extension or in two)', async () => {
    const two = [{ type: 'url' as const, value: WEB }, { type: 'url' as const, value: `${WEB}2` }];
    await assert.rejects(sign(await csrWith([two])), refused('CSR_IDENTITY_MISMATCH', 'exactly one URI SAN', 'carries 2'));
    await assert.rejects(
      sign(await csrWith([[two[0] as never], [two[1] as never]])),
      refused('CSR_IDENTITY_MISMATCH', 'carries 2'),
    );
  });

  test('a CSR without a URI SAN', async () => {
    await assert.rejects(sign(await csrWith([])), refused('CSR_IDENTITY_MISMATCH', 'carries 0'));
    await assert.rejects(sign(await csrWith([[{ type: 'dns', value: 'web.default.svc' }]])), refused('CSR_IDENTITY_MISMATCH', 'carries 0'));
  });

  test('a tampered CSR whose SAN was rewritten to the entitled ID', async () => {
    const wex = 'spiffe://cluster.local/ns/default/sa/wex';
    const der = decodePemBlocks(await createCsr(await generateWorkloadKey(), wex))[0]?.der;
    assert.ok(der);
    const at = der.indexOf(Buffer.from(wex));
    assert.ok(at > 0);
    der.write(WEB, at, 'latin1');
    await assert.rejects(sign(encodePem('CERTIFICATE REQUEST', der)), refused('CSR_INVALID', 'signature does not verify'));
  });

  test('a CSR with a flipped signature bit', async () => {
    const der = decodePemBlocks(await createCsr(await generateWorkloadKey(), WEB))[0]?.der;
    assert.ok(der);
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0x01;
    await assert.rejects(sign(encodePem('CERTIFICATE REQUEST', der)), refused('CSR_INVALID'));
  });

  const garbage: Array<[string, string]> = [
    ['not PEM', 'hello'],
    ['a certificate instead', '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'],
    ['truncated DER', encodePem('CERTIFICATE REQUEST', Buffer.from([0x30, 0x82, 0x01, 0x00, 0x30]))],
    ['empty sequence', encodePem('CERTIFICATE REQUEST', Buffer.from([0x30, 0x00]))],
  ];
  for (const [what, pem] of garbage) {
    test(`garbage: ${what}`, async () => {
      await assert.rejects(sign(pem), refused('CSR_INVALID'));
    });
  }

  test('keys other than EC P-256 or RSA >= 2048', async () => {
    const p384 = await csrWith([[{ type: 'url', value: WEB }]], { name: 'ECDSA', namedCurve: 'P-384' });
    await assert.rejects(sign(p384), refused('CSR_INVALID', 'secp384r1'));
    const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]) };
    const rsa1024 = await csrWith([[{ type: 'url', value: WEB }]], { ...rsa, modulusLength: 1024 });
    await assert.rejects(sign(rsa1024), refused('CSR_INVALID', 'RSA 1024-bit'));
    const rsa2048 = await csrWith([[{ type: 'url', value: WEB }]], { ...rsa, modulusLength: 2048 });
    const svid = (await sign(rsa2048)) as { certPem: string };
    assert.match(openssl(['x509', '-noout', '-text'], svid.certPem), /Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
  });

  test('an invalid SPIFFE ID to sign for', async () => {
    const csr = await createCsr(await generateWorkloadKey(), WEB);
    await assert.rejects(sign(csr, 'spiffe://cluster.local/ns/default/sa/web/'), refused('SPIFFE_ID_INVALID'));
  });

  test('200 CSRs in a row: 200 valid SVIDs for the identity, each with a serial of its own', async () => {
    // The signing rate is measured in bench/ (control-plane scenario), not asserted here.
    const csr = await createCsr(await generateWorkloadKey(), WEB);
    const serials = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const svid = (await sign(csr)) as { certPem: string };
      assert.equal(verifySvidChain(svid.certPem, [], [ca.trustBundlePem()], Date.now()), WEB);
      serials.add(new X509Certificate(svid.certPem).serialNumber);
    }
    assert.equal(serials.size, 200);
  });
});

describe('CertificateAuthority as an intermediate', () => {
  test('serves leaf + intermediate, bundles only the root, and the chain verifies', async () => {
    const now = Date.now();
    const root = await makeCaCert({ name: 'O=corp, CN=corp root', now });
    const intermediate = await makeCaCert({ name: 'O=corp, CN=weft intermediate', issuer: { name: 'O=corp, CN=corp root', keys: root.keys }, now });
    const files = { certFile: join(dir, 'int.pem'), keyFile: join(dir, 'int-key.pem'), chainFile: join(dir, 'root.pem') };
    await writeFile(files.certFile, intermediate.pem);
    // Operators' keys often come as SEC1 "EC PRIVATE KEY".
    await writeFile(files.keyFile, createPrivateKey(intermediate.keyPem).export({ type: 'sec1', format: 'pem' }));
    await writeFile(files.chainFile, root.pem);
    const ca = await CertificateAuthority.fromFiles(files, { clock: () => now });
    assert.deepEqual(splitPemCertificates(ca.trustBundlePem()), splitPemCertificates(root.pem));

    const svid = await ca.signCsr(await createCsr(await generateWorkloadKey(), WEB), { spiffeId: WEB, ttlMs: HOUR });
    const chain = splitPemCertificates(svid.chainPem);
    assert.equal(chain.length, 2);
    assert.equal(chain[1], splitPemCertificates(intermediate.pem)[0]);
    assert.equal(verifySvidChain(svid.certPem, chain, [ca.trustBundlePem()], now), WEB);
    assert.throws(() => verifySvidChain(svid.certPem, [], [ca.trustBundlePem()], now), refused('CERT_INVALID', 'does not chain'));

    await writeFile(join(dir, 'int-leaf.pem'), svid.certPem);
    assert.match(
      openssl(['verify', '-CAfile', files.chainFile, '-untrusted', files.certFile, join(dir, 'int-leaf.pem')]),
      /: OK/,
    );
  });

  test('refuses a non-CA certificate, a mismatched key, and a missing root', async () => {
    const now = Date.now();
    const root = await makeCaCert({ name: 'CN=r', now });
    const other = await makeCaCert({ name: 'CN=other', now });
    const intermediate = await makeCaCert({ name: 'CN=i', issuer: { name: 'CN=r', keys: root.keys }, now });
    const leafLike = await makeCaCert({ name: 'CN=leaf', issuer: { name: 'CN=r', keys: root.keys }, ca: false, now });
    await assert.rejects(
      CertificateAuthority.fromPem({ certPem: leafLike.pem, keyPem: leafLike.keyPem, chainPem: root.pem }),
      refused('CA_INVALID', 'not a CA certificate'),
    );
    await assert.rejects(
      CertificateAuthority.fromPem({ certPem: intermediate.pem, keyPem: other.keyPem, chainPem: root.pem }),
      refused('CA_INVALID', 'does not match'),
    );
    await assert.rejects(
      CertificateAuthority.fromPem({ certPem: intermediate.pem, keyPem: intermediate.keyPem }),
      refused('CA_INVALID', 'does not chain to a self-signed root'),
    );
    await assert.rejects(
      CertificateAuthority.fromPem({ certPem: intermediate.pem, keyPem: intermediate.keyPem, chainPem: other.pem }),
      refused('CA_INVALID', 'does not chain'),
    );
    await assert.rejects(
      CertificateAuthority.fromFiles({ certFile: join(dir, 'missing.pem'), keyFile: join(dir, 'missing-key.pem') }),
      refused('CA_INVALID', 'cannot read'),
    );
  });
});

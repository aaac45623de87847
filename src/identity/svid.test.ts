import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWeftError } from '../errors.js';
import type { WeftErrorCode } from '../errors.js';
import { CertificateAuthority } from './ca.js';
import { certificateDer, certificateSha256Hex, spiffeIdFromCertificate, svidSummary, verifySvidChain } from './svid.js';
import { createCsr, generateWorkloadKey } from './workload-key.js';
import { x509 } from './x509-runtime.js';

const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

function refused(code: WeftErrorCode, ...words: string[]) {
  return (err: unknown): boolean => isWeftError(err, code) && words.every((w) => err.message.includes(w));
}

async function selfSigned(sans: Array<{ type: 'url' | 'dns'; value: string }>): Promise<string> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test',
    keys,
    notBefore: new Date(T0),
    notAfter: new Date(T0 + HOUR),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: sans.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(sans)],
  });
  return cert.toString('pem');
}

describe('reading SVIDs', () => {
  let ca: CertificateAuthority;
  let svidPem: string;
  const dirs: string[] = [];
  const tempDir = async (prefix: string): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  before(async () => {
    const dir = await tempDir('weft-svid-test-');
    ca = await CertificateAuthority.loadOrCreate(dir, { clock: () => T0 });
    svidPem = (await ca.signCsr(await createCsr(await generateWorkloadKey(), WEB), { spiffeId: WEB, ttlMs: HOUR })).certPem;
  });

  test('spiffeIdFromCertificate reads PEM, DER and X509Certificate alike', () => {
    assert.equal(spiffeIdFromCertificate(svidPem), WEB);
    assert.equal(spiffeIdFromCertificate(certificateDer(svidPem)), WEB);
    assert.equal(spiffeIdFromCertificate(new X509Certificate(svidPem)), WEB);
  });

  const notSvids: Array<[string, Array<{ type: 'url' | 'dns'; value: string }>, string]> = [
    ['no SAN', [], 'carries 0'],
    ['only a DNS SAN', [{ type: 'dns', value: 'web.default.svc' }], 'carries 0'],
    ['two URI SANs', [{ type: 'url', value: WEB }, { type: 'url', value: `${WEB}2` }], 'carries 2'],
    ['a non-SPIFFE URI', [{ type: 'url', value: 'https://example.org/x' }], 'is not a SPIFFE ID'],
    ['an invalid SPIFFE ID', [{ type: 'url', value: 'spiffe://Cluster.local/x' }], 'is not a SPIFFE ID'],
  ];
  for (const [what, sans, words] of notSvids) {
    test(`spiffeIdFromCertificate refuses a certificate with ${what}`, async () => {
      const pem = await selfSigned(sans);
      assert.throws(() => spiffeIdFromCertificate(pem), refused('CERT_INVALID', words));
    });
  }

  test('a DNS SAN beside the one URI SAN is allowed', async () => {
    assert.equal(spiffeIdFromCertificate(await selfSigned([{ type: 'dns', value: 'web' }, { type: 'url', value: WEB }])), WEB);
  });

  test('refuses text without a certificate', () => {
    assert.throws(() => spiffeIdFromCertificate('nothing here'), refused('CERT_INVALID', 'no PEM CERTIFICATE'));
    assert.throws(() => svidSummary('-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'), refused('CERT_INVALID'));
  });

  test('svidSummary gives identity, validity and serial', () => {
    const summary = svidSummary(svidPem);
    const cert = new X509Certificate(svidPem);
    assert.equal(summary.spiffeId, WEB);
    assert.equal(summary.notBefore.getTime(), T0 - 60_000);
    assert.equal(summary.notAfter.getTime(), T0 + HOUR);
    assert.equal(summary.serial, cert.serialNumber.toUpperCase());
    assert.match(summary.serial, /^[0-9A-F]{32}$/);
  });

  test('certificateSha256Hex is the SHA-256 of the DER (Istio XFCC Hash=)', () => {
    const expected = new X509Certificate(svidPem).fingerprint256.replaceAll(':', '').toLowerCase();
    assert.equal(certificateSha256Hex(svidPem), expected);
    assert.equal(certificateSha256Hex(certificateDer(svidPem)), expected);
  });

  test('verifySvidChain checks validity on the given clock', () => {
    const bundle = [ca.trustBundlePem()];
    assert.equal(verifySvidChain(svidPem, [], bundle, T0), WEB);
    assert.equal(verifySvidChain(svidPem, [svidPem], bundle, T0 + HOUR), WEB);
    assert.throws(() => verifySvidChain(svidPem, [], bundle, T0 - 61_000), refused('CERT_INVALID', 'not valid before'));
    assert.throws(() => verifySvidChain(svidPem, [], bundle, T0 + HOUR + 1000), refused('CERT_INVALID', 'expired'));
  });

  test('verifySvidChain refuses a foreign bundle, an empty bundle and a CA as leaf', async () => {
    const other = await CertificateAuthority.loadOrCreate(await tempDir('weft-svid-other-'), { clock: () => T0 });
    assert.throws(() => verifySvidChain(svidPem, [], [other.trustBundlePem()], T0), refused('CERT_INVALID', 'does not chain'));
    assert.throws(() => verifySvidChain(svidPem, [], [], T0), refused('CERT_INVALID', 'bundle is empty'));
    assert.throws(() => verifySvidChain(ca.caCertPem, [], [ca.trustBundlePem()], T0), refused('CERT_INVALID', 'is a CA'));
  });
});

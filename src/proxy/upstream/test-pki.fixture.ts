/**
 * Test fixture: a certificate authority made in the test (ECDSA P-256), leaf certificates it signs for servers
 * and clients, and a CRL revoking some of them, all as PEM files in a directory the test removes.
 */
import { createPrivateKey } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { x509 } from '../../identity/x509-runtime.js';
import { randomSerial } from '../../identity/root-ca.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface TestCa {
  readonly name: string;
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
  /** PEM file of the CA certificate. */
  readonly certFile: string;
}

export interface TestLeaf {
  readonly serial: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export class TestPki {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-pki-'));

  async ca(name: string): Promise<TestCa> {
    const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial().toString('hex'),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + DAY_MS),
      keys,
      signingAlgorithm: ALG,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    return { name, cert, keys, certFile: this.write(`${name}.crt`, cert.toString('pem')) };
  }

  /** A leaf for `cn` with DNS SANs `dns`, for server or client use. */
  async leaf(ca: TestCa, cn: string, dns: readonly string[], use: 'server' | 'client'): Promise<TestLeaf> {
    const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const serial = randomSerial().toString('hex');
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${cn}`,
      issuer: ca.cert.subject,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + DAY_MS),
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([use === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
        ...(dns.length > 0 ? [new x509.SubjectAlternativeNameExtension(dns.map((d) => ({ type: 'dns' as const, value: d })))] : []),
      ],
    });
    const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
    const keyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
    const certPem = cert.toString('pem');
    return { serial, certPem, keyPem, certFile: this.write(`${cn}-${serial}.crt`, certPem), keyFile: this.write(`${cn}-${serial}.key`, keyPem) };
  }

  /** A CRL of `ca` revoking `leaves`; its PEM file. */
  async crl(ca: TestCa, leaves: readonly TestLeaf[]): Promise<string> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: ca.cert.subject,
      thisUpdate: new Date(Date.now() - DAY_MS),
      nextUpdate: new Date(Date.now() + DAY_MS),
      entries: leaves.map((l) => ({ serialNumber: l.serial, revocationDate: new Date(Date.now() - DAY_MS) })),
      signingKey: ca.keys.privateKey,
      signingAlgorithm: ALG,
    });
    // OpenSSL reads the label `X509 CRL`, not the `CRL` this library writes.
    const pem = x509.PemConverter.encode(crl.rawData, 'X509 CRL');
    return this.write(`${ca.name}-${leaves.length}.crl`, pem);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private write(name: string, pem: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, pem);
    return file;
  }
}

/**
 * Test fixture: a CA and the leaves it signs (serverAuth and clientAuth, a DNS SAN), made in process, for tests
 * of the gateway's client-certificate checks.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { x509 } from '../../identity/x509-runtime.js';
import { randomSerial } from '../../identity/root-ca.js';

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export class TestCa {
  private constructor(
    readonly name: string,
    private readonly keys: webcrypto.CryptoKeyPair,
    readonly certPem: string,
  ) {}

  static async create(name: string): Promise<TestCa> {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial().toString('hex'),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 24 * 3600_000),
      keys,
      signingAlgorithm: SIGN,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    return new TestCa(name, keys, cert.toString('pem'));
  }

  /** `uri` adds a URI SAN (a SPIFFE ID) beside the DNS one. */
  async leaf(dnsName: string, uri?: string): Promise<TestCertificate> {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial().toString('hex'),
      subject: `CN=${dnsName}`,
      issuer: `CN=${this.name}`,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 24 * 3600_000),
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dnsName }, ...(uri === undefined ? [] : [{ type: 'url' as const, value: uri }])]),
      ],
    });
    return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
  }
}

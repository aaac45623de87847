/**
 * The self-signed root the control plane makes on its first start when no CA is given: ECDSA P-256, ten
 * years, usable only to sign certificates and CRLs.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { x509 } from './x509-runtime.js';
import { validateTrustDomain } from './spiffe-id.js';

export const ROOT_CA_SUBJECT = 'O=weft, CN=weft root CA';
const TEN_YEARS_MS = 10 * 365.25 * 24 * 60 * 60 * 1000;
/** Backdated like SVIDs so peers with a slightly slow clock accept it at once. */
const CLOCK_SKEW_MS = 60_000;

export interface RootCaPem {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

/** A certificate serial: positive (high bit clear) and minimal DER (next bit set), 16 octets, 126 random bits. */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes;
}

export async function createRootCa(options: { now: number; trustDomain?: string }): Promise<RootCaPem> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (options.trustDomain !== undefined) {
    validateTrustDomain(options.trustDomain);
    extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${options.trustDomain}` }]));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial().toString('hex'),
    name: ROOT_CA_SUBJECT,
    notBefore: new Date(options.now - CLOCK_SKEW_MS),
    notAfter: new Date(options.now + TEN_YEARS_MS),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions,
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return { certPem: cert.toString('pem'), keyPem };
}

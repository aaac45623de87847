/**
 * The proxy's own key and its certificate signing request. The private key is made here, in the proxy
 * process, and never leaves it: only the CSR (public key + SPIFFE ID, signed) goes to the control plane.
 * The CSR is encoded with the small DER writer rather than an X.509 library: it is one fixed shape, and the
 * library alone added about 20 MiB to every proxy's memory.
 */
import { generateKeyPair, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { TAG, encodeOid, tlv } from './der.js';
import { encodePem } from './pem.js';
import { parseSpiffeId } from './spiffe-id.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface WorkloadKey {
  /** PKCS#8 PEM, the form node:tls `key` accepts. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  readonly publicKeyPem: string;
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  readonly spkiDer: Buffer;
}

/** A fresh ECDSA P-256 key pair for one workload. */
export async function generateWorkloadKey(): Promise<WorkloadKey> {
  const { privateKey, publicKey } = await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey,
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
  };
}

const VERSION_V1 = Buffer.from([TAG.INTEGER, 0x01, 0x00]);
const EMPTY_NAME = Buffer.from([TAG.SEQUENCE, 0x00]);
const ATTRIBUTES = 0xa0;
const GENERAL_NAME_URI = 0x86;
const ECDSA_WITH_SHA256 = tlv(TAG.SEQUENCE, encodeOid('1.2.840.10045.4.3.2'));

/**
 * A PKCS#10 CSR (RFC 2986) with an empty subject and the SPIFFE ID as its only URI SAN, requested through the
 * extensionRequest attribute: the CA reads identity from the SAN alone (X509-SVID section 2).
 */
export async function createCsr(key: Pick<WorkloadKey, 'privateKey' | 'spkiDer'>, spiffeId: string): Promise<string> {
  const id = parseSpiffeId(spiffeId).toString();
  const san = tlv(TAG.SEQUENCE, encodeOid('2.5.29.17'), tlv(TAG.OCTET_STRING, tlv(TAG.SEQUENCE, tlv(GENERAL_NAME_URI, Buffer.from(id, 'ascii')))));
  const extensionRequest = tlv(TAG.SEQUENCE, encodeOid('1.2.840.113549.1.9.14'), tlv(TAG.SET, tlv(TAG.SEQUENCE, san)));
  const info = tlv(TAG.SEQUENCE, VERSION_V1, EMPTY_NAME, key.spkiDer, tlv(ATTRIBUTES, extensionRequest));
  const signature = sign('sha256', info, key.privateKey);
  const csr = tlv(TAG.SEQUENCE, info, ECDSA_WITH_SHA256, tlv(TAG.BIT_STRING, Buffer.from([0x00]), signature));
  return encodePem('CERTIFICATE REQUEST', csr);
}

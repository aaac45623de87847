/**
 * The CA's private key, parsed once into a KeyObject so issuing an SVID costs one synchronous signature and
 * no key parsing. Accepts PKCS#8, SEC1 ("EC PRIVATE KEY") and PKCS#1 PEM, since operators bring CA keys
 * made by openssl, cfssl or cert-manager.
 */
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { WeftError } from '../errors.js';
import { TAG, encodeOid, tlv } from './der.js';

export interface CaSigningKey {
  /** DER AlgorithmIdentifier the CA signs with. */
  readonly signatureAlgorithm: Buffer;
  /** DER SubjectPublicKeyInfo of the matching public key. */
  readonly spki: Buffer;
  readonly sign: (tbs: Uint8Array) => Buffer;
}

const NULL = Buffer.from([0x05, 0x00]);
// ECDSA AlgorithmIdentifiers omit parameters; RSA PKCS#1 v1.5 ones carry NULL (RFC 5758, RFC 4055).
const EC_CURVES: Record<string, { hash: string; algorithm: Buffer }> = {
  prime256v1: { hash: 'sha256', algorithm: tlv(TAG.SEQUENCE, encodeOid('1.2.840.10045.4.3.2')) },
  secp384r1: { hash: 'sha384', algorithm: tlv(TAG.SEQUENCE, encodeOid('1.2.840.10045.4.3.3')) },
};
const RSA_SHA256 = tlv(TAG.SEQUENCE, encodeOid('1.2.840.113549.1.1.11'), NULL);

function caInvalid(message: string, cause?: unknown): WeftError {
  return new WeftError('CA_INVALID', message, { cause });
}

export function importCaSigningKey(keyPem: string): CaSigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw caInvalid('CA private key cannot be read (PEM PKCS#8, SEC1 or PKCS#1 expected)', err);
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (key.asymmetricKeyType === 'ec') {
    const curve = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve === undefined) {
      throw caInvalid(`CA key curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'} is not supported (P-256, P-384)`);
    }
    const hash = curve.hash;
    return { signatureAlgorithm: curve.algorithm, spki, sign: (tbs) => sign(hash, tbs, key) };
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw caInvalid('CA RSA key is shorter than 2048 bits');
    return { signatureAlgorithm: RSA_SHA256, spki, sign: (tbs) => sign('sha256', tbs, key) };
  }
  throw caInvalid(`CA key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (EC or RSA)`);
}

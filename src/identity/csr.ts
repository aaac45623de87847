/**
 * Reading a workload's CSR at the CA: the signature must verify (proof the requester holds the private key),
 * the only URI SAN must be the SPIFFE ID the bootstrap token or mTLS peer vouches for, and the key must be
 * one the mesh accepts. Anything else in the CSR (subject, other extensions) is ignored: the CA decides what
 * goes into an SVID, never the requester. Parsed with the small DER reader because this runs per signing.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { WeftError } from '../errors.js';
import { DerError, TAG, children, contents, decodeOid, expectTlv, whole } from './der.js';
import { uriSansOf } from './san.js';
import type { Tlv } from './der.js';
import { decodePemBlocks } from './pem.js';

const MIN_RSA_BITS = 2048;
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const CONTEXT_0_CONSTRUCTED = 0xa0;

/** CSR signature algorithms accepted, by OID; RSA-PSS and SHA-1 are not. */
const SIGNATURE_ALGORITHMS: Record<string, { hash: string; key: 'ec' | 'rsa' }> = {
  '1.2.840.10045.4.3.2': { hash: 'sha256', key: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ec' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa' },
};

export interface AcceptedCsr {
  /** DER SubjectPublicKeyInfo of the requester's key. */
  readonly spki: Uint8Array;
  readonly keyType: 'ec-p256' | 'rsa';
}

interface ParsedCsr {
  readonly tbs: Uint8Array;
  readonly spki: Uint8Array;
  readonly signatureOid: string;
  readonly signature: Uint8Array;
  readonly uriSans: string[];
}

function csrInvalid(reason: string, cause?: unknown): WeftError {
  return new WeftError('CSR_INVALID', `CSR rejected: ${reason}`, { status: 400, cause });
}

function requestedUriSans(der: Uint8Array, attributes: Tlv | undefined): string[] {
  if (attributes === undefined) return [];
  const uris: string[] = [];
  for (const attribute of children(der, attributes)) {
    const [type, values] = children(der, attribute);
    if (type?.tag !== TAG.OID || values?.tag !== TAG.SET) throw new DerError('malformed attribute');
    if (decodeOid(contents(der, type)) !== OID_EXTENSION_REQUEST) continue;
    for (const extensions of children(der, values)) uris.push(...uriSansOf(der, extensions));
  }
  return uris;
}

function parseCsrDer(der: Uint8Array): ParsedCsr {
  const outer = expectTlv(der, 0, TAG.SEQUENCE);
  if (outer.end !== der.length) throw new DerError('trailing data after the request');
  const [info, algorithm, signature] = children(der, outer);
  if (info?.tag !== TAG.SEQUENCE || algorithm?.tag !== TAG.SEQUENCE || signature?.tag !== TAG.BIT_STRING) {
    throw new DerError('not a CertificationRequest');
  }
  const [version, subject, spki, attributes] = children(der, info);
  if (version?.tag !== TAG.INTEGER || subject?.tag !== TAG.SEQUENCE || spki?.tag !== TAG.SEQUENCE) {
    throw new DerError('not a CertificationRequestInfo');
  }
  if (attributes !== undefined && attributes.tag !== CONTEXT_0_CONSTRUCTED) throw new DerError('bad attributes');
  const algorithmOid = expectTlv(der, algorithm.start, TAG.OID, algorithm.end);
  if ((der[signature.start] ?? 1) !== 0) throw new DerError('signature has unused bits');
  return {
    tbs: whole(der, info),
    spki: whole(der, spki),
    signatureOid: decodeOid(contents(der, algorithmOid)),
    signature: der.subarray(signature.start + 1, signature.end),
    uriSans: requestedUriSans(der, attributes),
  };
}

function parseCsrPem(csrPem: string): ParsedCsr {
  if (typeof csrPem !== 'string') throw csrInvalid('not a string');
  const blocks = decodePemBlocks(csrPem).filter((b) => b.label === 'CERTIFICATE REQUEST');
  if (blocks.length !== 1 || blocks[0] === undefined) throw csrInvalid('expected exactly one PEM "CERTIFICATE REQUEST"');
  try {
    return parseCsrDer(blocks[0].der);
  } catch (err) {
    if (err instanceof DerError) throw csrInvalid(`malformed PKCS#10: ${err.message}`, err);
    throw err;
  }
}

function acceptedKeyType(key: KeyObject): AcceptedCsr['keyType'] {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') return 'ec-p256';
  if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS) return 'rsa';
  const what =
    key.asymmetricKeyType === 'ec'
      ? `EC curve ${details.namedCurve ?? 'unknown'}`
      : key.asymmetricKeyType === 'rsa'
        ? `RSA ${details.modulusLength ?? 0}-bit key`
        : `${key.asymmetricKeyType ?? 'unknown'} key`;
  throw csrInvalid(`${what} is not accepted; use ECDSA P-256 or RSA >= ${MIN_RSA_BITS} bits`);
}

/** Verifies a CSR for `spiffeId`; throws CSR_INVALID or CSR_IDENTITY_MISMATCH. */
export function acceptCsr(csrPem: string, spiffeId: string): AcceptedCsr {
  const csr = parseCsrPem(csrPem);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(csr.spki), format: 'der', type: 'spki' });
  } catch (err) {
    throw csrInvalid('public key cannot be read', err);
  }
  const keyType = acceptedKeyType(key);
  const algorithm = SIGNATURE_ALGORITHMS[csr.signatureOid];
  if (algorithm === undefined) throw csrInvalid(`signature algorithm ${csr.signatureOid} is not accepted`);
  if (algorithm.key !== key.asymmetricKeyType) throw csrInvalid('signature algorithm does not match the key type');
  let signatureOk: boolean;
  try {
    signatureOk = verify(algorithm.hash, csr.tbs, key, csr.signature);
  } catch (err) {
    throw csrInvalid('signature cannot be checked', err);
  }
  if (!signatureOk) throw csrInvalid('signature does not verify');
  const uris = csr.uriSans;
  if (uris.length !== 1) {
    throw new WeftError(
      'CSR_IDENTITY_MISMATCH',
      `CSR must carry exactly one URI SAN (${spiffeId}); it carries ${uris.length}: ${JSON.stringify(uris)}`,
      { status: 403, detail: { expected: spiffeId, requested: uris } },
    );
  }
  const [requested] = uris;
  if (requested !== spiffeId) {
    throw new WeftError('CSR_IDENTITY_MISMATCH', `CSR asks for ${String(requested)} but the caller is entitled to ${spiffeId}`, {
      status: 403,
      detail: { expected: spiffeId, requested },
    });
  }
  return { spki: csr.spki, keyType };
}

/**
 * The X.509-SVID profile (X509-SVID standard section 4, RFC 5280) and its DER encoding. Every SVID gets:
 * - exactly one URI SAN, the SPIFFE ID; critical because the subject is empty (RFC 5280 4.2.1.6);
 * - basicConstraints CA:false, critical (a leaf must never sign);
 * - keyUsage digitalSignature, critical (plus keyEncipherment for RSA keys, used by RSA key exchange);
 *   never keyCertSign or cRLSign;
 * - extKeyUsage serverAuth + clientAuth, since every proxy is both ends of mTLS;
 * - subject and authority key identifiers, so path building picks the right issuer across CA rotation.
 * Encoded by hand from precomputed pieces so issuing costs one signature and a few buffer copies.
 */
import { createHash } from 'node:crypto';
import { TAG, encodeOid, encodeTime, expectTlv, tlv } from './der.js';

const BOOLEAN_TRUE = Buffer.from([TAG.BOOLEAN, 0x01, 0xff]);
const VERSION_V3 = Buffer.from([0xa0, 0x03, TAG.INTEGER, 0x01, 0x02]);
const EMPTY_NAME = Buffer.from([TAG.SEQUENCE, 0x00]);
const GENERAL_NAME_URI = 0x86;
const KEY_IDENTIFIER = 0x80;
const EXTENSIONS = 0xa3;

function extension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? tlv(TAG.SEQUENCE, encodeOid(oid), BOOLEAN_TRUE, tlv(TAG.OCTET_STRING, value))
    : tlv(TAG.SEQUENCE, encodeOid(oid), tlv(TAG.OCTET_STRING, value));
}

// BasicConstraints with cA absent (DEFAULT FALSE) is the empty SEQUENCE.
const BASIC_CONSTRAINTS_LEAF = extension('2.5.29.19', true, Buffer.from([TAG.SEQUENCE, 0x00]));
// KeyUsage BIT STRING: digitalSignature is bit 0, keyEncipherment bit 2; trailing zero bits are dropped.
const KEY_USAGE_EC = extension('2.5.29.15', true, Buffer.from([TAG.BIT_STRING, 0x02, 0x07, 0x80]));
const KEY_USAGE_RSA = extension('2.5.29.15', true, Buffer.from([TAG.BIT_STRING, 0x02, 0x05, 0xa0]));
const EXT_KEY_USAGE = extension(
  '2.5.29.37',
  false,
  tlv(TAG.SEQUENCE, encodeOid('1.3.6.1.5.5.7.3.1'), encodeOid('1.3.6.1.5.5.7.3.2')),
);

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (without its unused-bits octet). */
export function subjectKeyId(spki: Uint8Array): Buffer {
  const outer = expectTlv(spki, 0, TAG.SEQUENCE);
  const algorithm = expectTlv(spki, outer.start, TAG.SEQUENCE, outer.end);
  const bits = expectTlv(spki, algorithm.end, TAG.BIT_STRING, outer.end);
  return createHash('sha1').update(spki.subarray(bits.start + 1, bits.end)).digest();
}

export function authorityKeyIdExtension(keyId: Uint8Array): Buffer {
  return extension('2.5.29.35', false, tlv(TAG.SEQUENCE, tlv(KEY_IDENTIFIER, keyId)));
}

/** What stays the same for every SVID one CA issues. */
export interface IssuerProfile {
  /** DER Name of the CA certificate's subject. */
  readonly issuerName: Uint8Array;
  /** DER AlgorithmIdentifier of the CA's signature. */
  readonly signatureAlgorithm: Uint8Array;
  /** Precomputed authorityKeyIdentifier extension. */
  readonly authorityKeyId: Uint8Array;
  readonly sign: (tbs: Uint8Array) => Uint8Array;
}

export interface SvidFields {
  readonly serial: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spiffeId: string;
  /** DER SubjectPublicKeyInfo from the accepted CSR. */
  readonly spki: Uint8Array;
  readonly keyType: 'ec-p256' | 'rsa';
}

/** The DER of a signed X.509-SVID. */
export function encodeSvid(issuer: IssuerProfile, svid: SvidFields): Buffer {
  const extensions = tlv(
    EXTENSIONS,
    tlv(
      TAG.SEQUENCE,
      BASIC_CONSTRAINTS_LEAF,
      svid.keyType === 'rsa' ? KEY_USAGE_RSA : KEY_USAGE_EC,
      EXT_KEY_USAGE,
      extension('2.5.29.17', true, tlv(TAG.SEQUENCE, tlv(GENERAL_NAME_URI, Buffer.from(svid.spiffeId, 'latin1')))),
      extension('2.5.29.14', false, tlv(TAG.OCTET_STRING, subjectKeyId(svid.spki))),
      issuer.authorityKeyId,
    ),
  );
  const tbs = tlv(
    TAG.SEQUENCE,
    VERSION_V3,
    tlv(TAG.INTEGER, svid.serial),
    issuer.signatureAlgorithm,
    issuer.issuerName,
    tlv(TAG.SEQUENCE, encodeTime(svid.notBefore), encodeTime(svid.notAfter)),
    EMPTY_NAME,
    svid.spki,
    extensions,
  );
  const signature = issuer.sign(tbs);
  return tlv(TAG.SEQUENCE, tbs, issuer.signatureAlgorithm, tlv(TAG.BIT_STRING, Buffer.from([0]), signature));
}

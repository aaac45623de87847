/**
 * Reading X.509-SVIDs: the SPIFFE ID a certificate proves, a summary for status displays, the hash Istio
 * puts into x-forwarded-client-cert, and chain validation against a trust bundle (X509-SVID section 5).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { WeftError } from '../errors.js';
import { DerError, TAG, children, expectTlv } from './der.js';
import { decodePemBlocks } from './pem.js';
import { uriSansOf } from './san.js';
import { parseSpiffeId } from './spiffe-id.js';

export type CertificateInput = string | Uint8Array | X509Certificate;

export interface SvidSummary {
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Uppercase hex, as openssl and node print it. */
  readonly serial: string;
}

const EXTENSIONS = 0xa3;

function certInvalid(message: string, cause?: unknown): WeftError {
  return new WeftError('CERT_INVALID', message, { status: 401, cause });
}

/** DER bytes of a certificate given as PEM text, DER bytes or a node X509Certificate. */
export function certificateDer(input: CertificateInput): Buffer {
  if (input instanceof X509Certificate) return input.raw;
  if (typeof input !== 'string') return Buffer.from(input);
  const block = decodePemBlocks(input).find((b) => b.label === 'CERTIFICATE');
  if (block === undefined) throw certInvalid('no PEM CERTIFICATE block found');
  return block.der;
}

function toX509(input: CertificateInput): X509Certificate {
  if (input instanceof X509Certificate) return input;
  try {
    return new X509Certificate(certificateDer(input));
  } catch (err) {
    if (err instanceof WeftError) throw err;
    throw certInvalid('not a readable X.509 certificate', err);
  }
}

function certificateUriSans(der: Buffer): string[] {
  const cert = expectTlv(der, 0, TAG.SEQUENCE);
  const tbs = expectTlv(der, cert.start, TAG.SEQUENCE, cert.end);
  const extensions = children(der, tbs).find((t) => t.tag === EXTENSIONS);
  if (extensions === undefined) return [];
  return uriSansOf(der, expectTlv(der, extensions.start, TAG.SEQUENCE, extensions.end));
}

/** The SPIFFE ID of an SVID: its one and only URI SAN, which must be a valid SPIFFE ID (X509-SVID section 2). */
export function spiffeIdFromCertificate(input: CertificateInput): string {
  let uris: string[];
  try {
    uris = certificateUriSans(certificateDer(input));
  } catch (err) {
    if (err instanceof DerError) throw certInvalid(`malformed certificate: ${err.message}`, err);
    throw err;
  }
  if (uris.length !== 1 || uris[0] === undefined) {
    throw certInvalid(`an SVID carries exactly one URI SAN; this certificate carries ${uris.length}`);
  }
  const [uri] = uris;
  try {
    return parseSpiffeId(uri).toString();
  } catch (err) {
    throw certInvalid(`URI SAN ${JSON.stringify(uri)} is not a SPIFFE ID`, err);
  }
}

export function svidSummary(input: CertificateInput): SvidSummary {
  const cert = toX509(input);
  return {
    spiffeId: spiffeIdFromCertificate(cert),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serial: cert.serialNumber.toUpperCase(),
  };
}

/** Lowercase hex SHA-256 of the DER certificate: the `Hash=` of Istio's x-forwarded-client-cert. */
export function certificateSha256Hex(input: CertificateInput): string {
  return createHash('sha256').update(certificateDer(input)).digest('hex');
}

function checkValidAt(cert: X509Certificate, now: number, role: string): void {
  if (now < Date.parse(cert.validFrom)) throw certInvalid(`${role} ${cert.subject || '(empty subject)'} is not valid before ${cert.validFrom}`);
  if (now > Date.parse(cert.validTo)) throw certInvalid(`${role} ${cert.subject || '(empty subject)'} expired at ${cert.validTo}`);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/**
 * Validates an SVID chain: the leaf is a non-CA certificate with one SPIFFE ID, each certificate is valid at
 * `now` and signed by the next, intermediates are CAs, and the path ends at a certificate of the bundle.
 * `chainPems` may start with the leaf itself (as `signCsr` returns it). Returns the leaf's SPIFFE ID.
 */
export function verifySvidChain(
  leafPem: CertificateInput,
  chainPems: readonly CertificateInput[],
  bundlePems: readonly CertificateInput[],
  now: number,
): string {
  const leaf = toX509(leafPem);
  if (leaf.ca) throw certInvalid('leaf SVID is a CA certificate');
  const spiffeId = spiffeIdFromCertificate(leaf);
  checkValidAt(leaf, now, 'SVID');
  const intermediates = chainPems.map(toX509).filter((c) => !c.raw.equals(leaf.raw));
  const roots = bundlePems.map(toX509);
  if (roots.length === 0) throw certInvalid('trust bundle is empty');
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    const root = roots.find((r) => issuedBy(current, r));
    if (root !== undefined) {
      checkValidAt(root, now, 'root');
      return spiffeId;
    }
    const next = intermediates.find((c) => c !== current && issuedBy(current, c));
    if (next === undefined) break;
    if (!next.ca) throw certInvalid(`chain certificate ${next.subject} is not a CA`);
    checkValidAt(next, now, 'intermediate');
    current = next;
  }
  throw certInvalid(`SVID for ${spiffeId} does not chain to the trust bundle`);
}

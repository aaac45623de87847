/**
 * Checks PEM certificate chains and private keys as a gateway will load them, so a bad pair is refused at apply
 * (with the field that holds it) instead of failing a handshake later: every certificate parses, the leaf is
 * within its validity period, and the key is the leaf's key.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle, in order; a bundle without one, or with one that does not parse, is a problem. */
export function parseCertificates(pem: string): { certs: X509Certificate[] } | { problem: string } {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return { problem: 'no PEM certificate (-----BEGIN CERTIFICATE-----) found' };
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch (err) {
      return { problem: `certificate ${i + 1} does not parse: ${(err as Error).message}` };
    }
  }
  return { certs };
}

/** Why a leaf certificate cannot be served at `now`, or undefined. */
export function validityProblem(cert: X509Certificate, now: number): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now > to) return `certificate expired at ${new Date(to).toISOString()}`;
  if (now < from) return `certificate is not valid before ${new Date(from).toISOString()}`;
  return undefined;
}

export type TlsPairProblem = { field: 'certificate' | 'key'; message: string };

/** The problems of a certificate chain and private key meant to be served together. */
export function checkTlsPair(certPem: string, keyPem: string, now: number): TlsPairProblem[] {
  const parsed = parseCertificates(certPem);
  if ('problem' in parsed) return [{ field: 'certificate', message: parsed.problem }];
  const leaf = parsed.certs[0]!;
  const problems: TlsPairProblem[] = [];
  const expired = validityProblem(leaf, now);
  if (expired !== undefined) problems.push({ field: 'certificate', message: expired });
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    problems.push({ field: 'key', message: `private key does not parse: ${(err as Error).message}` });
    return problems;
  }
  const spki = (k: ReturnType<typeof createPublicKey>): Buffer => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(leaf.publicKey))) {
    problems.push({ field: 'key', message: `private key does not match the certificate (subject ${leaf.subject.replace(/\n/g, ', ')})` });
  }
  return problems;
}

/** Problems of a CA bundle used to verify client certificates. */
export function checkCaBundle(pem: string): string | undefined {
  const parsed = parseCertificates(pem);
  return 'problem' in parsed ? parsed.problem : undefined;
}

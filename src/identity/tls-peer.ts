import type { PeerCertificate } from 'node:tls';

/**
 * The SPIFFE ID of a TLS peer's certificate as node:tls presents it: exactly one URI SAN with the spiffe scheme
 * (X509-SVID rule). Node renders SANs as `URI:a, DNS:b`; SPIFFE IDs cannot contain commas or spaces, so splitting
 * is safe for them, and anything unusual fails the single-spiffe-URI check.
 */
export function spiffeIdOfPeer(cert: PeerCertificate | undefined): string | undefined {
  const san = cert?.subjectaltname;
  if (!san) return undefined;
  let found: string | undefined;
  for (const entry of san.split(', ')) {
    if (!entry.startsWith('URI:')) continue;
    if (found !== undefined) return undefined;
    found = entry.slice(4);
  }
  return found !== undefined && found.startsWith('spiffe://') ? found : undefined;
}

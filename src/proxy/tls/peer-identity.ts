import type { PeerCertificate, TLSSocket } from 'node:tls';

/** Who is on the other end of an mTLS connection, as read once at handshake. */
export interface PeerIdentity {
  /** spiffe://trust-domain/ns/<ns>/sa/<sa> */
  spiffeId: string;
  /** Istio's principal form: the SPIFFE ID without the scheme. */
  principal: string;
  /** Lower-case hex SHA-256 of the peer certificate's DER, as in XFCC `Hash=`. */
  certHash: string;
}

/**
 * The SPIFFE ID of a verified peer certificate: exactly one URI SAN with the spiffe scheme (X509-SVID rule).
 * Node renders SANs as `URI:a, DNS:b`; SPIFFE IDs cannot contain commas or spaces, so splitting is safe for them,
 * and anything unusual simply fails the single-spiffe-URI check.
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

export function peerIdentityOf(socket: TLSSocket): PeerIdentity | undefined {
  const cert = socket.getPeerCertificate();
  const spiffeId = spiffeIdOfPeer(cert);
  if (!spiffeId) return undefined;
  return {
    spiffeId,
    principal: spiffeId.slice('spiffe://'.length),
    certHash: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
}

/** Istio's x-forwarded-client-cert value for a sidecar (SANITIZE_SET): By = us, Hash and URI = the caller. */
export function xfccValue(ownSpiffeId: string, peer: PeerIdentity): string {
  return `By=${ownSpiffeId};Hash=${peer.certHash};Subject="";URI=${peer.spiffeId}`;
}

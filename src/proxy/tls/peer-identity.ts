import type { TLSSocket } from 'node:tls';
import { spiffeIdOfPeer } from '../../identity/tls-peer.js';

/** Who is on the other end of an mTLS connection, as read once at handshake. */
export interface PeerIdentity {
  /** spiffe://trust-domain/ns/<ns>/sa/<sa> */
  spiffeId: string;
  /** Istio's principal form: the SPIFFE ID without the scheme. */
  principal: string;
  /** Lower-case hex SHA-256 of the peer certificate's DER, as in XFCC `Hash=`. */
  certHash: string;
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

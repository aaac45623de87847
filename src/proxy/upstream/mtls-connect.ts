/**
 * One mTLS connection to a peer sidecar: this proxy's current SVID as client certificate, the trust bundle as the
 * only roots, Istio's SNI naming the service port, and the peer's SPIFFE ID checked instead of a host name.
 * Used by the HTTP pools and by CONNECT tunnels (opaque TCP).
 */
import tls from 'node:tls';
import { WeftError } from '../../errors.js';
import { spiffeIdOfPeer } from '../../identity/tls-peer.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { publishMeshTls } from '../telemetry/mesh-tls.js';

export interface MtlsPeer {
  address: string;
  port: number;
  sni: string;
  spiffeId: string;
}

export function connectMtls(
  cert: WorkloadCertificate,
  peer: MtlsPeer,
  timeoutMs: number,
  callback: (err: Error | null, socket: tls.TLSSocket | null) => void,
  alpn: string[] = ['http/1.1'],
): void {
  if (!cert.ready) {
    callback(new WeftError('UPSTREAM_UNREACHABLE', 'no workload certificate yet'), null);
    return;
  }
  let done = false;
  const socket = tls.connect({
    host: peer.address,
    port: peer.port,
    servername: peer.sni,
    secureContext: cert.current.clientContext,
    ALPNProtocols: alpn,
    checkServerIdentity: (_host, presented) => {
      const id = spiffeIdOfPeer(presented);
      if (id === peer.spiffeId) return undefined;
      return new WeftError('PEER_IDENTITY_MISMATCH', `peer presented ${id ?? 'no SPIFFE ID'}, expected ${peer.spiffeId}`);
    },
  });
  socket.setNoDelay(true);
  const fail = (err: Error): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    callback(err, null);
  };
  const timer = setTimeout(() => fail(new WeftError('UPSTREAM_UNREACHABLE', 'connect timeout')), timeoutMs);
  socket.once('secureConnect', () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('error', fail);
    publishMeshTls('outbound', cert.spiffeId, socket);
    callback(null, socket);
  });
  socket.once('error', fail);
}

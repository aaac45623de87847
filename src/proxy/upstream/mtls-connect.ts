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
import { dialTcp } from './plain-connect.js';
import type { Preface } from './proxy-protocol.js';

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
  /** Bytes sent before the handshake (a PROXY protocol header); undefined: none. */
  preface?: Preface,
): void {
  if (!cert.ready) {
    callback(new WeftError('UPSTREAM_UNREACHABLE', 'no workload certificate yet'), null);
    return;
  }
  let done = false;
  const socket = tls.connect({
    ...(preface === undefined ? { host: peer.address, port: peer.port } : { socket: dialTcp(peer.address, peer.port, preface) }),
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
  // `on`, not `once`: over a socket of its own dialling a refused connect is reported by both.
  socket.on('error', fail);
}

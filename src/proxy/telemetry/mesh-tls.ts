/**
 * The TLS of each mesh connection (version, cipher, key exchange), published on a diagnostics channel by the
 * places that make them and counted by whoever subscribes (undici's way: nothing is built unless someone listens).
 * A message names the proxy identity that made the connection, so proxies sharing a process count only their own.
 */
import diagnostics from 'node:diagnostics_channel';
import type tls from 'node:tls';

export interface MeshTlsMessage {
  /** `outbound`: this proxy dialled a peer; `inbound`: a peer dialled this proxy. */
  direction: 'inbound' | 'outbound';
  /** This proxy's SPIFFE ID. */
  local: string;
  socket: tls.TLSSocket;
}

export const meshTlsChannel = diagnostics.channel('weft.mesh.tls');

export function publishMeshTls(direction: MeshTlsMessage['direction'], local: string, socket: tls.TLSSocket): void {
  if (meshTlsChannel.hasSubscribers) meshTlsChannel.publish({ direction, local, socket } satisfies MeshTlsMessage);
}

/** Label values from what OpenSSL negotiated: a fixed set per OpenSSL build, never what a peer wrote. */
export function tlsLabelsOf(socket: tls.TLSSocket): { tls_version: string; cipher: string; key_exchange: string } {
  const kx = socket.getEphemeralKeyInfo();
  // A server socket has no ephemeral key info in Node: the group is only known to the side that dialled.
  const group = kx && typeof kx === 'object' && 'name' in kx && typeof kx.name === 'string' ? kx.name : 'unknown';
  return { tls_version: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.name ?? 'unknown', key_exchange: group };
}

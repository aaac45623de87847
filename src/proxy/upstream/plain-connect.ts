/**
 * A plain TCP connection to a destination outside the mesh (a ServiceEntry endpoint, or a passthrough), bounded in
 * time: a blackholed address otherwise holds the client for the kernel's connect timeout (minutes).
 */
import net from 'node:net';
import type { Destination } from './external-destination.js';
import type { Preface } from './proxy-protocol.js';

export const PLAIN_CONNECT_TIMEOUT_MS = 5_000;

export function connectPlain(
  dst: Destination,
  done: (err: Error | undefined, upstream?: net.Socket) => void,
  timeoutMs = PLAIN_CONNECT_TIMEOUT_MS,
  /** Bytes the connection starts with, before the caller's (a PROXY protocol header); undefined: none. */
  preface?: Preface,
): void {
  const upstream = dialTcp(dst.address, dst.port, preface, timeoutMs);
  let failed = false;
  const fail = (err: Error): void => {
    if (failed) return;
    failed = true;
    upstream.destroy();
    done(err);
  };
  upstream.on('error', fail);
  upstream.once('timeout', () => fail(new Error(`connect timeout after ${timeoutMs} ms`)));
  upstream.once('connect', () => {
    upstream.removeListener('error', fail);
    upstream.removeAllListeners('timeout');
    upstream.setTimeout(0);
    done(undefined, upstream);
  });
}

/**
 * A TCP connection whose first bytes are `preface` (a PROXY protocol header), queued before anything a caller
 * writes: TLS started over it (mTLS, TLS origination) sends its ClientHello after them, as Envoy's
 * upstream_proxy_protocol transport socket writes the header before the inner transport's bytes.
 */
export function dialTcp(address: string, port: number, preface: Preface | undefined, timeoutMs?: number): net.Socket {
  const socket = net.connect({ host: address, port, ...(timeoutMs !== undefined && { timeout: timeoutMs }) });
  socket.setNoDelay(true);
  // A header made from the connection's own ends waits for them; this listener runs before a TLS socket's own.
  if (typeof preface === 'function') socket.once('connect', () => socket.write(preface(socket)));
  else if (preface !== undefined) socket.write(preface);
  return socket;
}

/**
 * A plain TCP connection to a destination outside the mesh (a ServiceEntry endpoint, or a passthrough), bounded in
 * time: a blackholed address otherwise holds the client for the kernel's connect timeout (minutes).
 */
import net from 'node:net';
import type { Destination } from './external-destination.js';

export const PLAIN_CONNECT_TIMEOUT_MS = 5_000;

export function connectPlain(dst: Destination, done: (err: Error | undefined, upstream?: net.Socket) => void, timeoutMs = PLAIN_CONNECT_TIMEOUT_MS): void {
  const upstream = net.connect({ host: dst.address, port: dst.port, timeout: timeoutMs });
  upstream.setNoDelay(true);
  const fail = (err: Error): void => {
    upstream.destroy();
    done(err);
  };
  upstream.once('error', fail);
  upstream.once('timeout', () => fail(new Error(`connect timeout after ${timeoutMs} ms`)));
  upstream.once('connect', () => {
    upstream.removeListener('error', fail);
    upstream.removeAllListeners('timeout');
    upstream.setTimeout(0);
    done(undefined, upstream);
  });
}

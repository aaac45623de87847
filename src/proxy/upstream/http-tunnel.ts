/**
 * DestinationRule `tunnel`: an opaque connection to the rule's host is carried through an HTTP tunnel opened on the
 * connection to the host's endpoint (the tunnel proxy), as Istio configures Envoy's tcp_proxy `tunneling_config`:
 * the request names `targetHost:targetPort` (Go's JoinHostPort: an IPv6 address in brackets) as its authority, the
 * method is CONNECT, or POST to `/` with the bytes as its body (Envoy's `use_post`); a 2xx answer opens the tunnel,
 * anything else fails the connection as a connect failure (Envoy's UF). HTTP/1.1, as Envoy speaks to a cluster
 * without HTTP/2 options (a TCP port's). node:http writes and reads the request, so a POST body goes chunked, as
 * Envoy's HTTP/1.1 codec sends a body of unknown length.
 */
import http from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { WeftError } from '../../errors.js';
import type { TunnelSettings } from '../../proxyconfig/types.js';

/** Where the tunnel request says the bytes go: `targetHost:targetPort`. */
export function tunnelAuthority(t: TunnelSettings): string {
  return `${net.isIPv6(t.targetHost) ? `[${t.targetHost}]` : t.targetHost}:${t.targetPort}`;
}

/**
 * Open the tunnel on `upstream` (connected, TLS done); `done` gets the tunnel's two directions as one stream, or
 * why the proxy refused it. The wait for the answer is bounded by `timeoutMs` (the cluster's connect timeout).
 */
export function openHttpTunnel(upstream: net.Socket, t: TunnelSettings, timeoutMs: number, done: (err: Error | undefined, tunnel?: Duplex) => void): void {
  const authority = tunnelAuthority(t);
  const req = http.request({
    method: t.protocol,
    path: t.protocol === 'CONNECT' ? authority : '/',
    headers: { host: authority },
    createConnection: () => upstream,
  });
  let settled = false;
  const settle = (err: Error | undefined, tunnel?: Duplex): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (err !== undefined) {
      req.destroy();
      upstream.destroy();
    }
    done(err, tunnel);
  };
  const timer = setTimeout(() => settle(new WeftError('UPSTREAM_UNREACHABLE', `tunnel ${t.protocol} ${authority}: no answer within ${timeoutMs} ms`)), timeoutMs);
  const refused = (status: number | undefined): Error => new WeftError('UPSTREAM_UNREACHABLE', `tunnel ${t.protocol} ${authority} refused: ${status ?? 'no status'}`);
  req.on('error', (err) => settle(new WeftError('UPSTREAM_UNREACHABLE', `tunnel ${t.protocol} ${authority}: ${err.message}`)));
  if (t.protocol === 'CONNECT') {
    req.on('connect', (res: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      if (!ok(res.statusCode)) return settle(refused(res.statusCode));
      if (head.length > 0) socket.unshift(head);
      settle(undefined, socket);
    });
    req.end();
    return;
  }
  req.on('response', (res: http.IncomingMessage) => {
    if (!ok(res.statusCode)) {
      res.resume();
      return settle(refused(res.statusCode));
    }
    settle(undefined, Duplex.from({ readable: res, writable: req }));
  });
  req.flushHeaders();
}

function ok(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

/**
 * Opaque TCP to a mesh service port, per connection: the port's tls/tcp routes choose the destination service and
 * subset (l4-destination.ts), the cluster's breaker, balancer and outlier state choose and dial the endpoint
 * (tcp-endpoint.ts): mTLS to its sidecar with Istio's SNI naming the service port, so the destination's inbound
 * pipes it to the app's port and applies PeerAuthentication and AuthorizationPolicy as TCP (plaintext to the app
 * port when the destination's mode is DISABLE). Shared by CONNECT tunnels (http_proxy mode) and captured
 * connections to an opaque service port.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { BalancedPort, CompiledProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { L4Request } from '../../route/l4-route-match.js';
import { chooseL4Destination } from '../opaque/l4-destination.js';
import type { L4Destination } from '../opaque/l4-destination.js';
import { connectTcpEndpoint } from '../opaque/tcp-endpoint.js';
import type { TcpFailureFlag, TcpLease } from '../opaque/tcp-endpoint.js';
import type { ProxiedConnection } from './proxy-protocol.js';

export type TunnelResult = (TcpLease & { readonly destination: L4Destination }) | { readonly status: 503; readonly reason: string; readonly flag: TcpFailureFlag };

/** Route, balance and connect one connection; the returned function withdraws it while it waits for a slot. */
export function openMeshTunnel(
  rt: ProxyRuntime,
  cfg: CompiledProxyConfig,
  balanced: BalancedPort,
  conn: L4Request,
  /** The client's connection, which a PROXY header names (DestinationRule `proxyProtocol`). */
  client: ProxiedConnection,
  done: (r: TunnelResult) => void,
): () => void {
  const destination = chooseL4Destination(balanced, conn, rt.random);
  if (destination === undefined) {
    done({ status: 503, reason: 'no healthy upstream', flag: 'NR' });
    return () => undefined;
  }
  // A name dialled through CONNECT has no original address; the address a captured connection dialled does.
  const original = net.isIP(conn.destinationAddress) !== 0 ? conn.destinationAddress : undefined;
  return connectTcpEndpoint(rt, cfg, destination, original, client, (r) => done('flag' in r ? { status: 503, reason: r.reason, flag: r.flag } : { ...r, destination }));
}

/** DestinationRule `connectionPool.tcp` limits on one tunnelled connection; 0 or absent: none. */
export interface TunnelLimits {
  /** Envoy's tcp_proxy idle_timeout: closed after this long with no bytes either way (Istio's default 1h). */
  readonly idleTimeoutMs?: number;
  /** Closed this long after it opened, busy or not (`maxConnectionDuration`). */
  readonly maxDurationMs?: number;
}

/**
 * Pipe two connections both ways until either closes; a half-close is passed on, an error tears both down.
 * `onClose` runs once, when the client side is gone.
 */
export function splice(client: net.Socket, upstream: Duplex, onClose: () => void, limits: TunnelLimits = {}): void {
  if (client.destroyed) {
    // The client left while the upstream was being dialled.
    upstream.destroy();
    onClose();
    return;
  }
  client.pipe(upstream);
  upstream.pipe(client);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  upstream.once('error', close);
  client.once('error', close);
  upstream.once('close', () => client.end());
  // Idle means no bytes either way: every byte is read on one socket and written on the other, so each socket's own
  // inactivity timer is reset by traffic in both directions.
  const idle = limits.idleTimeoutMs ?? 0;
  if (idle > 0) {
    client.setTimeout(idle, close);
    // An HTTP tunnel's POST body and answer (http-tunnel.ts) have no timer of their own; the client's sees both ways.
    if (upstream instanceof net.Socket) upstream.setTimeout(idle, close);
  }
  const maxDuration = limits.maxDurationMs ?? 0;
  const deadline = maxDuration > 0 ? setTimeout(close, maxDuration) : undefined;
  deadline?.unref();
  client.once('close', () => {
    if (deadline !== undefined) clearTimeout(deadline);
    upstream.end();
    onClose();
  });
}

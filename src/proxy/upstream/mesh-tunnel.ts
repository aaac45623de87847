/**
 * Opaque TCP to a mesh service port: mTLS to one endpoint's sidecar with Istio's SNI naming the service port, so
 * the destination's inbound pipes it to the app's port and applies PeerAuthentication and AuthorizationPolicy as
 * TCP. Shared by CONNECT tunnels (http_proxy mode) and captured connections to a tcp/tls service port.
 */
import type net from 'node:net';
import type { BalancedPort } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { Endpoint } from '../../proxyconfig/types.js';
import { connectMtls } from './mtls-connect.js';

const TUNNEL_CONNECT_TIMEOUT_MS = 5_000;

export type TunnelResult = { upstream: net.Socket; endpoint: Endpoint } | { status: 503; reason: string };

export function openMeshTunnel(rt: ProxyRuntime, balanced: BalancedPort, done: (r: TunnelResult) => void): void {
  const ep = balanced.pick();
  if (!ep) return done({ status: 503, reason: 'no healthy upstream' });
  if (!ep.mtls) return done({ status: 503, reason: 'plaintext tunnels to DISABLE destinations are not supported' });
  const peer = { address: ep.address, port: ep.inboundPort, sni: balanced.sni, spiffeId: ep.spiffeId };
  connectMtls(rt.cert, peer, TUNNEL_CONNECT_TIMEOUT_MS, (err, upstream) => {
    if (err || !upstream) done({ status: 503, reason: `upstream connect error: ${err?.message ?? 'unknown'}` });
    else done({ upstream, endpoint: ep });
  }, []);
}

/**
 * Pipe two connections both ways until either closes; a half-close is passed on, an error tears both down.
 * `onClose` runs once, when the client side is gone.
 */
export function splice(client: net.Socket, upstream: net.Socket, onClose: () => void): void {
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
  client.once('close', () => {
    upstream.end();
    onClose();
  });
}

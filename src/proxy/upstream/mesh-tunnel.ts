/**
 * Opaque TCP to a mesh service port: mTLS to one endpoint's sidecar with Istio's SNI naming the service port, so
 * the destination's inbound pipes it to the app's port and applies PeerAuthentication and AuthorizationPolicy as
 * TCP (plaintext to the app port when the destination's mode is DISABLE). Shared by CONNECT tunnels (http_proxy mode) and captured connections to a tcp/tls service port.
 */
import type net from 'node:net';
import type { BalancedPort } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { Endpoint } from '../../proxyconfig/types.js';
import { connectMtls } from './mtls-connect.js';
import { connectPlain } from './plain-connect.js';

const TUNNEL_CONNECT_TIMEOUT_MS = 5_000;

export type TunnelResult = { upstream: net.Socket; endpoint: Endpoint } | { status: 503; reason: string };

export function openMeshTunnel(rt: ProxyRuntime, balanced: BalancedPort, done: (r: TunnelResult) => void): void {
  const ep = balanced.pick();
  if (!ep) return done({ status: 503, reason: 'no healthy upstream' });
  if (!ep.mtls) {
    // PeerAuthentication DISABLE at the destination: plaintext to the app port, where its sidecar (capture) or the
    // app itself (loopback) takes it.
    connectPlain({ address: ep.address, port: ep.targetPort }, (err, upstream) => {
      if (err || !upstream) done({ status: 503, reason: `upstream connect error: ${err?.message ?? 'unknown'}` });
      else done({ upstream, endpoint: ep });
    });
    return;
  }
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

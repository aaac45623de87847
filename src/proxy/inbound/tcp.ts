/**
 * Inbound opaque TCP, after mTLS (or in plaintext on a port whose mode admits it): AuthorizationPolicy with Istio's TCP semantics (an ALLOW rule that needs HTTP
 * fields never matches; a DENY rule ignores them and denies), then bytes piped to the app port. A denied
 * connection is closed, as Envoy's network RBAC filter does.
 */
import net from 'node:net';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { PeerIdentity } from '../tls/peer-identity.js';
import { authzLogFields } from '../security/authz-log.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { inboundService } from './inbound-service.js';

export function handleInboundTcp(
  rt: ProxyRuntime,
  socket: net.Socket,
  /** Undefined for a plaintext caller (a PERMISSIVE or DISABLE port). */
  peer: PeerIdentity | undefined,
  sni: string | undefined,
  appPort: number,
): void {
  const started = performance.now();
  const cfg = rt.config;
  const inbound = cfg?.inbound;
  const service = cfg && inbound ? inboundService(cfg, inbound, appPort, sni, '') : undefined;
  const entry = (status: number): AccessLogEntry => ({
    direction: 'inbound', method: 'TCP', authority: `${rt.podIP}:${appPort}`, path: '', status, durationMs: performance.now() - started,
    peer: peer?.spiffeId, destinationService: service, mtls: peer !== undefined, requestBytes: socket.bytesRead, responseBytes: socket.bytesWritten, connection: socket,
  });
  let logged = false;
  const log = (status: number, reason?: string, decision?: Parameters<typeof authzLogFields>[0]): void => {
    // One line per connection: an unreachable app is its 503, not also the 200 of the close that follows.
    if (logged) return;
    logged = true;
    rt.telemetry.record({ ...entry(status), reason, ...authzLogFields(decision) });
  };
  const authz = cfg?.security.authz;
  const decision = authz?.evaluate({
    connection: { sourceIp: socket.remoteAddress ?? '', destinationIp: rt.podIP, destinationPort: appPort, sni, sourcePrincipal: peer?.principal },
  });
  // CUSTOM providers speak HTTP; for TCP Istio has no ext-authz call, so a matching CUSTOM rule denies.
  if (decision && decision.decision !== 'ALLOW') {
    log(403, 'RBAC: access denied', decision);
    socket.destroy();
    return;
  }
  const app = net.connect({ host: rt.podIP, port: appPort }, () => rt.telemetry.opened?.(entry(200)));
  app.setNoDelay(true);
  socket.pipe(app);
  app.pipe(socket);
  const close = (): void => {
    socket.destroy();
    app.destroy();
  };
  app.once('error', (err) => {
    log(503, `app unreachable: ${err.message}`, decision);
    close();
  });
  socket.once('error', close);
  socket.once('close', () => {
    app.end();
    log(200, undefined, decision);
  });
  app.once('close', () => socket.end());
}

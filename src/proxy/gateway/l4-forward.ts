/**
 * A gateway connection, authorized as TCP, then routed by VirtualService `tcp` or `tls` routes (the shared l4 route
 * engine): the first route that matches names weighted destinations; the connection goes to one endpoint of the
 * chosen service and subset through the same cluster state as a sidecar's opaque connection (breaker, balancer,
 * outlier detection: opaque/tcp-endpoint.ts), over the gateway's mTLS, or to a ServiceEntry host's destination as it
 * is (l4-external.ts), the bytes already read (a passed-through ClientHello) first. No route: the connection is closed.
 */
import type net from 'node:net';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import { matchL4Route } from '../../route/l4-route-match.js';
import type { CompiledL4Route, L4Request } from '../../route/l4-route-match.js';
import { pickWeighted } from '../../route/weighted.js';
import { splice } from '../upstream/mesh-tunnel.js';
import { connectTcpEndpoint } from '../opaque/tcp-endpoint.js';
import { proxiedConnection } from '../upstream/proxy-protocol.js';
import { authzLogFields } from '../security/authz-log.js';
import { externalL4Route, openExternal } from './l4-external.js';
import type { PeerIdentity } from '../tls/peer-identity.js';

export interface L4Connection {
  client: net.Socket;
  /** Bytes read before routing (the ClientHello of a passed-through connection); sent upstream first. */
  head: Buffer;
  request: L4Request;
  /** `server` of the chain, for the access log. */
  server: string;
  sourceIp: string;
  /** The verified client certificate's identity, when the server terminated TLS and asked for one. */
  peer: PeerIdentity | undefined;
}

export function forwardL4(rt: ProxyRuntime, cfg: CompiledProxyConfig, routes: readonly CompiledL4Route[], conn: L4Connection): void {
  const started = performance.now();
  const record = (status: number, upstream?: string, reason?: string, service?: string): void => {
    rt.telemetry.record({
      direction: 'gateway',
      method: 'TCP',
      authority: conn.request.sni ?? '',
      path: '',
      status,
      durationMs: performance.now() - started,
      upstream,
      destinationService: service,
      peer: conn.peer?.spiffeId,
      reason,
      ...authzLogFields(decision),
    });
  };
  const refuse = (reason: string, service?: string): void => {
    conn.client.destroy();
    record(503, undefined, reason, service);
  };
  // AuthorizationPolicy with Istio's TCP semantics, as the sidecar's inbound applies it (inbound/tcp.ts): a denied
  // connection is closed before any upstream is dialled.
  const decision = cfg.security.authz?.evaluate({
    connection: { sourceIp: conn.sourceIp, destinationIp: conn.request.destinationAddress, destinationPort: conn.request.destinationPort, sni: conn.request.sni, sourcePrincipal: conn.peer?.principal },
  });
  if (decision && decision.decision !== 'ALLOW') {
    conn.client.destroy();
    rt.telemetry.record({ direction: 'gateway', method: 'TCP', authority: conn.request.sni ?? '', path: '', status: 403, durationMs: performance.now() - started, peer: conn.peer?.spiffeId, reason: 'RBAC: access denied', ...authzLogFields(decision) });
    return;
  }
  const route = matchL4Route(routes, conn.request);
  if (route === undefined) return refuse(`no ${conn.request.sni === undefined ? 'tcp' : 'tls'} route on ${conn.server}`);
  const dest = pickWeighted(route.route.destinations, rt.random);
  if (dest === undefined) return refuse(`route ${route.route.source}: every destination has weight 0`);
  const external = cfg.byHost.get(dest.host)?.ports.get(dest.port) === undefined ? externalL4Route(cfg, dest.host, dest.port) : undefined;
  if (external !== undefined) {
    conn.client.on('error', () => conn.client.destroy());
    // A passed-through ClientHello (head) is TLS already: it is never wrapped again.
    const originate = conn.head.length === 0 ? external.originationFor(dest.host) : undefined;
    openExternal(rt, external, dest.host, dest.port, proxiedConnection(conn.client, conn.client, undefined), (r) => {
      if ('reason' in r) return refuse(r.reason, dest.host);
      if (conn.head.length > 0) r.upstream.write(conn.head);
      splice(conn.client, r.upstream, () => record(200, r.address, undefined, dest.host));
    }, originate);
    return;
  }
  conn.client.on('error', () => conn.client.destroy());
  const cancel = connectTcpEndpoint(rt, cfg, { host: dest.host, port: dest.port, subset: dest.subset, route: route.route.source }, undefined, proxiedConnection(conn.client, conn.client, undefined), (r) => {
    if ('flag' in r) return refuse(`${r.flag} ${r.reason}`, dest.host);
    if (conn.head.length > 0) r.upstream.write(conn.head);
    splice(
      conn.client,
      r.upstream,
      () => {
        r.release();
        record(200, r.endpoint.workload, undefined, dest.host);
      },
      r.limits,
    );
  });
  conn.client.once('close', cancel);
}

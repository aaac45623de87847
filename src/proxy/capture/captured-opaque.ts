/**
 * Captured connections that are not parsed as HTTP. To a mesh service's tcp/tls port: the mTLS tunnel to one of
 * its endpoints (mesh-tunnel.ts). Anywhere else: a TLS connection is matched to a ServiceEntry by its SNI, opaque
 * TCP by the address dialled; a match goes to the entry's destination, no match follows the traffic policy
 * (ALLOW_ANY: on to the original destination; REGISTRY_ONLY: closed). The bytes already read are sent first and
 * nothing is terminated: TLS stays end to end between the app and its destination. Plain TCP to an entry whose
 * DestinationRule says SIMPLE or MUTUAL leaves over TLS the sidecar originates (tls-origination.ts).
 */
import type net from 'node:net';
import type { BalancedPort, CompiledProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry, EgressDecision } from '../telemetry/access-log.js';
import { meshHop } from '../telemetry/mesh-hop.js';
import type { MeshHop } from '../telemetry/mesh-hop.js';
import { openMeshTunnel, splice } from '../upstream/mesh-tunnel.js';
import { proxiedConnection } from '../upstream/proxy-protocol.js';
import { externalDestination } from '../upstream/external-destination.js';
import { connectExternal } from '../upstream/external-connect.js';
import type { Destination } from '../upstream/external-destination.js';
import { egressDeniedReason } from '../outbound/egress-denied.js';
import { GATEWAY_ONLY_FLAG, gatewayOnlyAddressRefusal, gatewayOnlyRefusal } from '../outbound/egress-gateway-only.js';
import { readFirstBytes } from './first-bytes.js';
import type { FirstBytes } from './first-bytes.js';


/**
 * A captured connection to a mesh service's opaque port. When the port has tls routes, the ClientHello is read first
 * for its SNI (never terminated; the bytes read go first to the upstream), as Envoy's tls_inspector does.
 */
export function tunnelToMeshService(rt: ProxyRuntime, cfg: CompiledProxyConfig, socket: net.Socket, balanced: BalancedPort, dialled: Destination, waitMs: number): void {
  if (balanced.tlsRoutes === undefined) {
    tunnelWith(rt, cfg, socket, balanced, dialled, Buffer.alloc(0), undefined);
    return;
  }
  readFirstBytes(socket, waitMs, (head, first) => tunnelWith(rt, cfg, socket, balanced, dialled, head, first.protocol === 'tls' ? first.sni : undefined));
}

function tunnelWith(rt: ProxyRuntime, cfg: CompiledProxyConfig, socket: net.Socket, balanced: BalancedPort, dialled: Destination, head: Buffer, sni: string | undefined): void {
  const started = performance.now();
  const authority = `${balanced.host}:${balanced.port}`;
  const entry = (status: number, upstream?: string, reason?: string, flag?: string, mesh?: MeshHop): AccessLogEntry => ({
    direction: 'outbound', method: 'TCP', authority, path: '', status, durationMs: performance.now() - started, upstream, reason,
    requestBytes: socket.bytesRead, responseBytes: socket.bytesWritten, connection: socket, ...(flag !== undefined && { responseFlags: flag }), ...mesh,
  });
  const cancel = openMeshTunnel(rt, cfg, balanced, { sni, destinationAddress: dialled.address, destinationPort: dialled.port }, proxiedConnection(socket, socket, dialled.address, dialled.port), (r) => {
    if ('status' in r) {
      rt.telemetry.record(entry(r.status, undefined, r.reason, r.flag, { destinationService: balanced.host }));
      socket.destroy();
      return;
    }
    const mesh = meshHop(r.destination.host, r.endpoint);
    rt.telemetry.opened?.(entry(200, r.endpoint.workload, undefined, undefined, mesh));
    if (head.length > 0) r.upstream.write(head);
    splice(
      socket,
      r.upstream,
      () => {
        r.release();
        rt.telemetry.record(entry(200, r.endpoint.workload, undefined, undefined, mesh));
      },
      r.limits,
    );
    socket.resume();
  });
  // A client that leaves while its connection waits for a breaker slot stops waiting.
  socket.once('close', cancel);
}

export function handleCapturedOpaque(
  rt: ProxyRuntime,
  cfg: CompiledProxyConfig,
  socket: net.Socket,
  dialled: Destination,
  head: Buffer,
  first: Exclude<FirstBytes, { protocol: 'http' }>,
): void {
  const started = performance.now();
  const sni = first.protocol === 'tls' ? first.sni : undefined;
  const address = `${dialled.address.includes(':') ? `[${dialled.address}]` : dialled.address}:${dialled.port}`;
  const authority = sni === undefined ? address : `${sni}:${dialled.port}`;
  const record = (status: number, egress: EgressDecision, upstream?: string, reason?: string, flag?: string): void => {
    rt.telemetry.record({ direction: 'outbound', method: 'TCP', authority, path: '', status, durationMs: performance.now() - started, upstream, reason, egress, ...(flag !== undefined && { responseFlags: flag }) });
  };
  // TLS to a ServiceEntry host that VirtualServices bound to the mesh route by SNI (to an egress gateway).
  const routed = sni === undefined ? undefined : cfg.routedExternal(sni, dialled.port);
  if (routed?.tlsRoutes !== undefined || routed?.tcpRoutes !== undefined) {
    tunnelWith(rt, cfg, socket, routed, dialled, head, sni);
    return;
  }
  const bySni = first.protocol === 'tls' ? cfg.externals.tls(sni, dialled.port) : undefined;
  // A TCP port of an entry carries whatever is sent to its address and port, TLS included, as Istio's TCP listener
  // for it does (a database driver that starts with TLS to a `protocol: TCP` entry).
  const route = bySni ?? cfg.externals.tcp(dialled.address, dialled.port);
  if (!route && cfg.trafficPolicy === 'REGISTRY_ONLY') {
    const what = first.protocol === 'tcp' ? address : sni === undefined ? `${address} (TLS without SNI)` : `SNI ${sni} on port ${dialled.port} (dialled ${address})`;
    record(0, { decision: 'denied', protocol: first.protocol, sni }, 'BlackHoleCluster', egressDeniedReason(cfg.trafficPolicy, what));
    socket.destroy();
    return;
  }
  // No entry matched by name: the address alone may be a gateway-only host's (passthrough, or an entry's TCP port).
  const refusal = (route === undefined ? undefined : gatewayOnlyRefusal(cfg, bySni ? sni : undefined, route)) ?? (bySni === undefined ? gatewayOnlyAddressRefusal(cfg, dialled.address) : undefined);
  if (refusal !== undefined) {
    record(0, { decision: 'denied', protocol: first.protocol, ...(route !== undefined && { serviceEntry: route.source }), sni }, 'BlackHoleCluster', refusal, GATEWAY_ONLY_FLAG);
    socket.destroy();
    return;
  }
  const egress: EgressDecision = route
    ? { decision: 'external', protocol: first.protocol, serviceEntry: route.source, sni }
    : { decision: 'passthrough', protocol: first.protocol, sni };
  // Only an entry chosen by the SNI may resolve the SNI; one chosen by address resolves its own host.
  const to = route ? externalDestination(route, dialled, bySni ? sni : undefined, rt.resolver) : Promise.resolve(dialled);
  // Plain TCP to an entry's TCP port whose host a DestinationRule gives SIMPLE/MUTUAL: the sidecar originates TLS
  // (a client that already speaks TLS is passed through as it is).
  const entryHost = route === undefined || first.protocol !== 'tcp' ? undefined : route.entry.hosts.find((h) => !h.startsWith('*'));
  const originate = entryHost === undefined ? undefined : route?.originationFor(entryHost);
  // The host whose rule says `proxyProtocol` and `tunnel`: the SNI that chose the entry, else the entry's own.
  const ruleHost = bySni ? sni : route?.entry.hosts.find((h) => !h.startsWith('*'));
  to.then(
    (dst) => {
      const upstreamName = `${dst.address}:${dst.port}`;
      connectExternal(route, ruleHost, dst, proxiedConnection(socket, socket, dialled.address, dialled.port), originate, (err, upstream) => {
        if (err || !upstream) {
          record(503, egress, upstreamName, `upstream connect error: ${err?.message ?? 'unknown'}`, 'UF');
          socket.destroy();
          return;
        }
        if (head.length > 0) upstream.write(head);
        splice(socket, upstream, () => record(200, egress, upstreamName));
        socket.resume();
      });
    },
    (err: unknown) => {
      record(503, egress, undefined, `upstream connect error: ${(err as Error).message}`);
      socket.destroy();
    },
  );
}

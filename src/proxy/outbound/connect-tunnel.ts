/**
 * HTTP CONNECT on the outbound listener: how an app without capture sends opaque TCP through its sidecar
 * (`CONNECT redis:6379`). A mesh service is reached over an mTLS tunnel to one endpoint's sidecar (mesh-tunnel.ts),
 * chosen by the port's tcp routes; when the port has tls routes the tunnel is answered 200 first, so the app's
 * ClientHello can be read for its SNI before the destination is chosen (a refusal then closes the tunnel).
 * Any other host:port is a plain TCP tunnel when a ServiceEntry's tls/tcp port names it or the traffic policy is
 * ALLOW_ANY; under REGISTRY_ONLY it is refused with 502, as Istio's BlackHoleCluster does.
 */
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority } from '../http/authority.js';
import { hostFieldProblem } from '../http/host-field.js';
import { openMeshTunnel, splice } from '../upstream/mesh-tunnel.js';
import { proxiedConnection } from '../upstream/proxy-protocol.js';
import type { TunnelLimits } from '../upstream/mesh-tunnel.js';
import { externalDestination } from '../upstream/external-destination.js';
import type { AccessLogEntry, EgressDecision } from '../telemetry/access-log.js';
import { meshHop } from '../telemetry/mesh-hop.js';
import type { MeshHop } from '../telemetry/mesh-hop.js';
import { connectExternal } from '../upstream/external-connect.js';
import { FIRST_BYTES_WAIT_MS, readFirstBytes } from '../capture/first-bytes.js';
import type { L4Request } from '../../route/l4-route-match.js';
import { egressDeniedReason } from './egress-denied.js';
import { GATEWAY_ONLY_FLAG, gatewayOnlyAddressRefusal, gatewayOnlyRefusal } from './egress-gateway-only.js';

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable' };

export function handleConnect(rt: ProxyRuntime, req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
  const started = performance.now();
  const authority = req.url ?? '';
  const entry = (status: number, upstream?: string, reason?: string, egress?: EgressDecision, mesh?: MeshHop, flag?: string): AccessLogEntry => ({
    direction: 'outbound', method: 'CONNECT', authority, path: '', status, durationMs: performance.now() - started, upstream, reason, egress,
    requestBytes: client.bytesRead, responseBytes: client.bytesWritten, connection: client, ...(flag !== undefined && { responseFlags: flag }), ...mesh,
  });
  const record = (status: number, upstream?: string, reason?: string, egress?: EgressDecision, mesh?: MeshHop, flag?: string): void => rt.telemetry.record(entry(status, upstream, reason, egress, mesh, flag));
  const refuse = (status: number, reason: string, egress?: EgressDecision, flag?: string): void => {
    record(status, egress?.decision === 'denied' ? 'BlackHoleCluster' : undefined, reason, egress, undefined, flag);
    client.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-length: ${Buffer.byteLength(reason) + 1}\r\nconnection: close\r\n\r\n${reason}\n`);
  };
  const established = (upstream: Duplex, name: string, egress?: EgressDecision, mesh?: MeshHop, release?: () => void, limits?: TunnelLimits): void => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    rt.telemetry.opened?.(entry(200, name, undefined, egress, mesh));
    splice(
      client,
      upstream,
      () => {
        release?.();
        record(200, name, undefined, egress, mesh);
      },
      limits,
    );
  };
  client.on('error', () => client.destroy());
  const malformed = hostFieldProblem(req);
  if (malformed) return refuse(400, `bad request: ${malformed}`);
  const parsed = parseAuthority(authority);
  if (!parsed || parsed.port === undefined) return refuse(400, `CONNECT needs host:port, not "${authority}"`);
  const cfg = rt.config;
  if (!cfg) return refuse(503, 'proxy has no configuration yet');
  const service = cfg.service(parsed.host);
  if (service) {
    const balanced = service.ports.get(parsed.port);
    if (!balanced) return refuse(404, `service ${service.host} has no port ${parsed.port}`);
    // A name was dialled, not an address: the service's virtual address stands for it in destinationSubnets.
    const conn: L4Request = { sni: undefined, destinationAddress: net.isIP(parsed.host) !== 0 ? parsed.host : (service.addresses[0] ?? ''), destinationPort: parsed.port };
    if (balanced.tlsRoutes === undefined) {
      const cancel = openMeshTunnel(rt, cfg, balanced, conn, proxiedConnection(client, client, undefined), (r) => {
        if ('status' in r) return refuse(r.status, r.reason, undefined, r.flag);
        established(r.upstream, r.endpoint.workload, undefined, meshHop(r.destination.host, r.endpoint), r.release, r.limits);
      });
      client.once('close', cancel);
      return;
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) client.unshift(head);
    readFirstBytes(client, FIRST_BYTES_WAIT_MS, (first, kind) => {
      const cancel = openMeshTunnel(rt, cfg, balanced, { ...conn, sni: kind.protocol === 'tls' ? kind.sni : undefined }, proxiedConnection(client, client, undefined), (r) => {
        if ('status' in r) {
          record(r.status, undefined, r.reason, undefined, { destinationService: balanced.host }, r.flag);
          client.destroy();
          return;
        }
        const mesh = meshHop(r.destination.host, r.endpoint);
        rt.telemetry.opened?.(entry(200, r.endpoint.workload, undefined, undefined, mesh));
        if (first.length > 0) r.upstream.write(first);
        splice(
          client,
          r.upstream,
          () => {
            r.release();
            record(200, r.endpoint.workload, undefined, undefined, mesh);
          },
          r.limits,
        );
        client.resume();
      });
      client.once('close', cancel);
    });
    return;
  }
  const route = cfg.externals.opaqueByHost(parsed.host, parsed.port);
  if (!route && cfg.trafficPolicy === 'REGISTRY_ONLY') {
    return refuse(502, egressDeniedReason(cfg.trafficPolicy, authority), { decision: 'denied', protocol: 'tcp' });
  }
  // A gateway-only host, by the name CONNECT gives or by an address of it (egress-gateway-only.ts).
  const gatewayOnly = net.isIP(parsed.host) === 0 ? gatewayOnlyRefusal(cfg, parsed.host.toLowerCase(), undefined) : gatewayOnlyAddressRefusal(cfg, parsed.host);
  if (gatewayOnly !== undefined) {
    return refuse(502, gatewayOnly, { decision: 'denied', protocol: 'tcp', ...(route !== undefined && { serviceEntry: route.source }) }, GATEWAY_ONLY_FLAG);
  }
  const egress: EgressDecision = route ? { decision: 'external', protocol: 'tcp', serviceEntry: route.source } : { decision: 'passthrough', protocol: 'tcp' };
  const to = route ? externalDestination(route, { address: parsed.host, port: parsed.port }, parsed.host, rt.resolver) : rt.resolver.resolve(parsed.host).then((address) => ({ address, port: parsed.port! }));
  to.then(
    (dst) => {
      connectExternal(route, parsed.host, dst, proxiedConnection(client, client, undefined), undefined, (err, upstream) =>
        err || !upstream ? refuse(503, `upstream connect error: ${err?.message ?? 'unknown'}`, egress) : established(upstream, `${dst.address}:${dst.port}`, egress),
      );
    },
    (err: unknown) => refuse(503, `upstream connect error: ${(err as Error).message}`, egress),
  );
}

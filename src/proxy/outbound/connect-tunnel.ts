/**
 * HTTP CONNECT on the outbound listener: how an app without capture sends opaque TCP through its sidecar
 * (`CONNECT redis:6379`). A mesh service is reached over an mTLS tunnel to one endpoint's sidecar (mesh-tunnel.ts).
 * Any other host:port is a plain TCP tunnel when a ServiceEntry's tls/tcp port names it or the traffic policy is
 * ALLOW_ANY; under REGISTRY_ONLY it is refused with 502, as Istio's BlackHoleCluster does.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority } from '../http/authority.js';
import { hostFieldProblem } from '../http/host-field.js';
import { openMeshTunnel, splice } from '../upstream/mesh-tunnel.js';
import { externalDestination } from '../upstream/external-destination.js';
import type { AccessLogEntry, EgressDecision } from '../telemetry/access-log.js';
import { meshHop } from '../telemetry/mesh-hop.js';
import type { MeshHop } from '../telemetry/mesh-hop.js';
import { connectPlain } from '../upstream/plain-connect.js';
import { egressDeniedReason } from './egress-denied.js';

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable' };

export function handleConnect(rt: ProxyRuntime, req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
  const started = performance.now();
  const authority = req.url ?? '';
  const entry = (status: number, upstream?: string, reason?: string, egress?: EgressDecision, mesh?: MeshHop): AccessLogEntry => ({
    direction: 'outbound', method: 'CONNECT', authority, path: '', status, durationMs: performance.now() - started, upstream, reason, egress,
    requestBytes: client.bytesRead, responseBytes: client.bytesWritten, ...mesh,
  });
  const record = (status: number, upstream?: string, reason?: string, egress?: EgressDecision, mesh?: MeshHop): void => rt.telemetry.record(entry(status, upstream, reason, egress, mesh));
  const refuse = (status: number, reason: string, egress?: EgressDecision): void => {
    record(status, egress?.decision === 'denied' ? 'BlackHoleCluster' : undefined, reason, egress);
    client.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-length: ${Buffer.byteLength(reason) + 1}\r\nconnection: close\r\n\r\n${reason}\n`);
  };
  const established = (upstream: net.Socket, name: string, egress?: EgressDecision, mesh?: MeshHop): void => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    rt.telemetry.opened?.(entry(200, name, undefined, egress, mesh));
    splice(client, upstream, () => record(200, name, undefined, egress, mesh));
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
    openMeshTunnel(rt, balanced, (r) => ('status' in r ? refuse(r.status, r.reason) : established(r.upstream, r.endpoint.workload, undefined, meshHop(balanced.host, r.endpoint))));
    return;
  }
  const route = cfg.externals.opaqueByHost(parsed.host, parsed.port);
  if (!route && cfg.trafficPolicy === 'REGISTRY_ONLY') {
    return refuse(502, egressDeniedReason(cfg.trafficPolicy, authority), { decision: 'denied', protocol: 'tcp' });
  }
  const egress: EgressDecision = route ? { decision: 'external', protocol: 'tcp', serviceEntry: route.source } : { decision: 'passthrough', protocol: 'tcp' };
  const to = route ? externalDestination(route, { address: parsed.host, port: parsed.port }, parsed.host, rt.resolver) : rt.resolver.resolve(parsed.host).then((address) => ({ address, port: parsed.port! }));
  to.then(
    (dst) => {
      connectPlain(dst, (err, upstream) =>
        err || !upstream ? refuse(503, `upstream connect error: ${err?.message ?? 'unknown'}`, egress) : established(upstream, `${dst.address}:${dst.port}`, egress),
      );
    },
    (err: unknown) => refuse(503, `upstream connect error: ${(err as Error).message}`, egress),
  );
}

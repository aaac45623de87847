/**
 * Inbound HTTP/1.1 (inside the mTLS tunnel, or PERMISSIVE plaintext), one request at a time: the app port (from
 * Istio's SNI, the captured port, or the Host) → PeerAuthentication mode → path normalisation →
 * RequestAuthentication → AuthorizationPolicy (admit-request.ts) → LocalRateLimitPolicy → x-forwarded-client-cert
 * from the verified peer → the app on the pod address.
 */
import type http from 'node:http';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledInbound } from '../config/compiled-config.js';
import type { PeerAuthnMode } from '../../proxyconfig/types.js';
import { xfccValue } from '../tls/peer-identity.js';
import type { PeerIdentity } from '../tls/peer-identity.js';
import { forward, upstreamHeaders } from '../http/forward.js';
import { sendProxyError } from '../http/proxy-error.js';
import { parseAuthority, requestTarget } from '../http/authority.js';
import { hostFieldProblem, refuseMalformed, replaceHostWithTarget } from '../http/host-field.js';
import { admitRequest } from '../security/admit-request.js';
import { inboundFinish, inboundRecord, mayHaveBody } from './inbound-record.js';
import type { InboundRequestRecord } from './inbound-record.js';
import { withoutPeerWorkload } from '../telemetry/peer-header.js';
import { startHop } from '../telemetry/trace-context.js';
import { tracingFor } from '../telemetry/telemetry-policy.js';
import { inboundService } from './inbound-service.js';
import type { LocalRateLimits } from '../ratelimit/local-rate-limits.js';
import { sendRateLimited } from '../ratelimit/rate-limited-reply.js';

/** What the listener learnt of a connection before its first request. */
export interface InboundConnection {
  peer: PeerIdentity | undefined;
  /** The server name the caller asked for (AuthorizationPolicy `connection.sni`). */
  sni: string | undefined;
  /** App port named by the caller's SNI, when it sent one. */
  sniPort: number | undefined;
  /** Captured connections: the port the caller dialled at the pod, i.e. the app port. */
  capturedPort?: number | undefined;
}

/** Plaintext callers name only a Host: a service port maps to its app port, else the port must be an app port. */
function hostAppPort(inbound: CompiledInbound, hostHeader: string | undefined): number | undefined {
  const a = hostHeader ? parseAuthority(hostHeader) : undefined;
  if (a?.port !== undefined) {
    return inbound.targetByServicePort.get(a.port) ?? (inbound.modes.has(a.port) ? a.port : undefined);
  }
  return inbound.appPorts.length === 1 ? inbound.appPorts[0] : inbound.targetByServicePort.get(80);
}

/** A captured caller dialled the app port itself; any other port of the pod has nothing behind it. */
function capturedAppPort(inbound: CompiledInbound, port: number): number | undefined {
  return inbound.appPorts.includes(port) || inbound.modes.has(port) ? port : undefined;
}

export function handleInbound(
  rt: ProxyRuntime,
  rateLimits: LocalRateLimits,
  conn: InboundConnection | undefined,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const cfg = rt.config;
  const inbound = cfg?.inbound;
  const target = requestTarget(req.url ?? '', req.headers.host);
  const authority = target?.authority ?? '';
  const rawPath = target?.path ?? req.url ?? '';
  const record: InboundRequestRecord = inboundRecord(req.method ?? '', authority, rawPath, conn?.peer?.spiffeId, req.headers, mayHaveBody(req.headers) ? req : undefined);
  const finish = inboundFinish(rt, record);
  const malformed = hostFieldProblem(req);
  if (malformed) {
    refuseMalformed(res, malformed);
    finish(400, malformed);
    return;
  }
  if (!cfg || !inbound || !conn) {
    sendProxyError(res, 503, 'proxy has no inbound configuration yet');
    finish(503);
    return;
  }
  if (!target) {
    sendProxyError(res, 400, 'bad request: no request target or Host');
    finish(400);
    return;
  }
  // Policy reads the Host: it must be the authority the app will be sent.
  replaceHostWithTarget(req, authority);
  const appPort = conn.sniPort ?? (conn.capturedPort === undefined ? hostAppPort(inbound, authority) : capturedAppPort(inbound, conn.capturedPort));
  if (appPort === undefined) {
    sendProxyError(res, 404, `no app port for "${authority}"`);
    finish(404);
    return;
  }
  record.service = inboundService(cfg, inbound, appPort, conn.sni, authority);
  record.appPort = appPort;
  const mode: PeerAuthnMode = inbound.modes.get(appPort) ?? inbound.defaultMode;
  if ((conn.peer === undefined && mode === 'STRICT') || (conn.peer !== undefined && mode === 'DISABLE')) {
    // Istio refuses at the transport: a plaintext caller of a STRICT port sees its connection reset.
    rt.log.warn('inbound refused by PeerAuthentication', { port: appPort, mode, mtls: conn.peer !== undefined });
    finish(0, `peer authentication ${mode}`);
    req.socket.destroy();
    return;
  }
  const ctx = {
    cfg,
    pools: rt.pools,
    peer: conn.peer,
    sni: conn.sni,
    destinationIp: rt.podIP,
    destinationPort: appPort,
    onUnknownKey: (uris: string[]) => rt.requestJwksRefresh(uris),
  };
  admitRequest(ctx, req, res, rawPath).then(
    (admitted) => {
      if ('status' in admitted) {
        finish(admitted.status, admitted.reason, admitted.decision);
        return;
      }
      record.rateLimit = rateLimits.check(inbound.rateLimits, appPort, conn.peer?.spiffeId);
      if (record.rateLimit) {
        sendRateLimited(res);
        finish(429, 'local_rate_limited', admitted.decision);
        return;
      }
      let extra = conn.peer ? ['x-forwarded-client-cert', xfccValue(rt.cert.spiffeId, conn.peer), ...admitted.addHeaders] : admitted.addHeaders;
      // The app sees this hop's trace context, so its own calls become children of this span.
      record.trace = startHop(tracingFor(cfg.raw, 'server'), req.headers, rt.random);
      if (record.trace) extra = [...extra, ...record.trace.headers];
      const pool = rt.pools.get({ address: rt.podIP, port: appPort });
      // The caller's workload name is for this proxy's telemetry, not for the app.
      forward(req, res, pool, admitted.path, upstreamHeaders(req, authority, extra, withoutPeerWorkload(admitted.removeHeaders, record.trace !== undefined)), (d) =>
        finish(d.status, d.error, admitted.decision, d),
      );
    },
    (err: unknown) => {
      rt.log.warn('inbound request failed in the proxy', { error: String(err) });
      sendProxyError(res, 500, 'internal proxy error');
      finish(500, String(err));
    },
  );
}

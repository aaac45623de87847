/**
 * Inbound HTTP/2 (h2c inside the mTLS tunnel, or PERMISSIVE plaintext h2c) for app ports whose protocol is http2 or
 * grpc. Each stream takes the HTTP/1.1 inbound's path: PeerAuthentication mode → path normalisation →
 * RequestAuthentication → AuthorizationPolicy (admit-request.ts, the same engine) → LocalRateLimitPolicy (the same
 * buckets) → x-forwarded-client-cert from the verified peer → the app over h2c, on one app session per caller
 * session, closed with it.
 * Hostile callers meet HTTP/2's own limits (concurrent streams, header list size, session memory); a stream or
 * session error ends that stream or session, never the proxy.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { PeerAuthnMode } from '../../proxyconfig/types.js';
import type { PeerIdentity } from '../tls/peer-identity.js';
import { xfccValue } from '../tls/peer-identity.js';
import { sendProxyError } from '../http/proxy-error.js';
import { admitRequest } from '../security/admit-request.js';
import type { AdmissionRequest } from '../security/admit-request.js';
import { inboundFinish, inboundRecord } from './inbound-record.js';
import { withoutPeerWorkload } from '../telemetry/peer-header.js';
import { startHop } from '../telemetry/trace-context.js';
import { tracingFor } from '../telemetry/telemetry-policy.js';
import type { InboundRequestRecord } from './inbound-record.js';
import { inboundService } from './inbound-service.js';
import { H2LocalReply } from '../http2/h2-local-reply.js';
import { forwardH2Stream, upstreamH2Headers } from '../http2/h2-forward.js';
import { isGrpcRequest } from '../http2/grpc-status.js';
import type { LocalRateLimits } from '../ratelimit/local-rate-limits.js';
import { sendRateLimited } from '../ratelimit/rate-limited-reply.js';

/** Who is calling and which app port they reached, settled when the connection was dispatched. */
export interface H2Caller {
  /** Undefined for a plaintext caller (PERMISSIVE). */
  peer: PeerIdentity | undefined;
  sni: string | undefined;
  appPort: number;
}

interface CallerSession extends H2Caller {
  app: http2.ClientHttp2Session | undefined;
}

export interface InboundH2 {
  /** Serve one connection, already authenticated (or admitted as plaintext), as HTTP/2. */
  serve(socket: Duplex, caller: H2Caller): void;
}

/** Envoy's defaults are 2^31 streams and 60 KiB of headers; a sidecar per pod needs far fewer streams. */
const LIMITS: http2.ServerOptions = {
  settings: { maxConcurrentStreams: 256, maxHeaderListSize: 64 * 1024, enablePush: false },
  maxHeaderListPairs: 200,
  maxSessionMemory: 16,
};

export function createInboundH2(rt: ProxyRuntime, rateLimits: LocalRateLimits): InboundH2 {
  const sessions = new WeakMap<http2.Http2Session, CallerSession>();
  // node creates the session synchronously inside emit('connection'): this names its caller for the 'session' event.
  let dispatching: H2Caller | undefined;
  const server = http2.createServer(LIMITS);
  server.on('session', (session: http2.ServerHttp2Session) => {
    if (!dispatching) {
      session.destroy();
      return;
    }
    const state: CallerSession = { ...dispatching, app: undefined };
    sessions.set(session, state);
    session.on('error', (err: Error) => rt.log.warn('inbound HTTP/2 session failed', { port: state.appPort, error: err.message }));
    session.once('close', () => state.app?.close());
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
    stream.on('error', () => undefined); // its close is what is logged
    const session = stream.session;
    handleStream(rt, rateLimits, session ? sessions.get(session) : undefined, stream, headers, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0);
  });
  return {
    serve(socket, caller) {
      // A TLS socket whose client offered no ALPN reports `false`, which node's HTTP/2 server takes as HTTP/1.1; the
      // protocol was chosen by the port the caller's SNI named, so it is stated here.
      if ((socket as { alpnProtocol?: unknown }).alpnProtocol === false) Object.defineProperty(socket, 'alpnProtocol', { value: 'h2c', configurable: true });
      dispatching = caller;
      try {
        server.emit('connection', socket);
      } finally {
        dispatching = undefined;
      }
    },
  };
}

/** One app session per caller session, renewed when the app closed it (GOAWAY, restart). */
function appSession(rt: ProxyRuntime, state: CallerSession): http2.ClientHttp2Session {
  if (state.app && !state.app.closed && !state.app.destroyed) return state.app;
  const host = rt.podIP.includes(':') ? `[${rt.podIP}]` : rt.podIP;
  const app = http2.connect(`http://${host}:${state.appPort}`, { settings: { enablePush: false } });
  app.on('error', (err: Error) => rt.log.warn('app HTTP/2 session failed', { port: state.appPort, error: err.message }));
  state.app = app;
  return app;
}

function handleStream(rt: ProxyRuntime, rateLimits: LocalRateLimits, caller: CallerSession | undefined, stream: http2.ServerHttp2Stream, headers: IncomingHttpHeaders, requestEnded: boolean): void {
  const method = headers[':method'] ?? '';
  const authority = headers[':authority'] ?? headers.host ?? '';
  const rawPath = headers[':path'] ?? '';
  const grpc = isGrpcRequest(headers['content-type']);
  const reply = new H2LocalReply(stream, grpc);
  const record: InboundRequestRecord = inboundRecord(method, authority, rawPath, caller?.peer?.spiffeId, headers, requestEnded ? undefined : stream);
  const finish = inboundFinish(rt, record);
  const cfg = rt.config;
  const inbound = cfg?.inbound;
  if (!cfg || !inbound || !caller) {
    sendProxyError(reply, 503, 'proxy has no inbound configuration yet');
    finish(503);
    return;
  }
  record.service = inboundService(cfg, inbound, caller.appPort, caller.sni, authority);
  record.appPort = caller.appPort;
  const mode: PeerAuthnMode = inbound.modes.get(caller.appPort) ?? inbound.defaultMode;
  if ((caller.peer === undefined && mode === 'STRICT') || (caller.peer !== undefined && mode === 'DISABLE')) {
    // The mode may have changed since the connection was admitted; Istio refuses at the transport.
    rt.log.warn('inbound refused by PeerAuthentication', { port: caller.appPort, mode, mtls: caller.peer !== undefined });
    finish(0, `peer authentication ${mode}`);
    stream.session?.destroy();
    return;
  }
  if (!rawPath.startsWith('/')) {
    // CONNECT and `*` have no path for policy to judge; the app's ports serve requests for paths only.
    sendProxyError(reply, 400, 'bad request: no request path');
    finish(400, 'no request path');
    return;
  }
  const ctx = {
    cfg,
    pools: rt.pools,
    peer: caller.peer,
    sni: caller.sni,
    destinationIp: rt.podIP,
    destinationPort: caller.appPort,
    onUnknownKey: (uris: string[]) => rt.requestJwksRefresh(uris),
  };
  const request: AdmissionRequest = { method, headers: { ...headers, host: authority }, socket: { remoteAddress: stream.session?.socket.remoteAddress } };
  admitRequest(ctx, request, reply, rawPath).then(
    (admitted) => {
      if ('status' in admitted) {
        finish(admitted.status, admitted.reason, admitted.decision);
        return;
      }
      if (stream.destroyed || stream.closed) {
        finish(0, 'caller reset the stream', admitted.decision);
        return;
      }
      record.rateLimit = rateLimits.check(inbound.rateLimits, caller.appPort, caller.peer?.spiffeId);
      if (record.rateLimit) {
        // Envoy answers gRPC callers of its local rate limit with a trailers-only reply.
        sendRateLimited(reply.trailersOnly());
        finish(429, 'local_rate_limited', admitted.decision);
        return;
      }
      const extra = caller.peer ? ['x-forwarded-client-cert', xfccValue(rt.cert.spiffeId, caller.peer), ...admitted.addHeaders] : admitted.addHeaders;
      record.trace = startHop(tracingFor(cfg.raw, 'server'), headers, rt.random);
      const out = upstreamH2Headers(headers, admitted.path, record.trace ? [...extra, ...record.trace.headers] : extra, withoutPeerWorkload(admitted.removeHeaders, record.trace !== undefined));
      // The limit is measured here too: a caller without a sidecar of its own was measured by nobody.
      forwardH2Stream(stream, requestEnded, appSession(rt, caller), out, reply, grpc ? cfg.grpcMaxMessageBytes : undefined, (d) => {
        const reason = d.error ?? (d.grpcStatus !== undefined && d.grpcStatus !== '0' ? `grpc-status ${d.grpcStatus}` : undefined);
        finish(d.status, reason, admitted.decision, d);
      });
    },
    (err: unknown) => {
      rt.log.warn('inbound request failed in the proxy', { error: String(err) });
      sendProxyError(reply, 500, 'internal proxy error');
      finish(500, String(err));
    },
  );
}

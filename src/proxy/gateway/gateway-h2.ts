/**
 * The ingress gateway's HTTP/2 (h2c with prior knowledge on a Gateway server port): each stream takes the gateway's
 * admission (path normalisation, JWT, AuthorizationPolicy: the same admitRequest as HTTP/1.1, answering a gRPC
 * caller in gRPC's terms) and then, as one H2Exchange, the virtual host's routes through the same request path.
 * `serve` takes any duplex already past the transport: where the gateway terminates TLS, a socket whose ALPN chose
 * `h2` is handed here the same way.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority } from '../http/authority.js';
import type { Dispatch } from '../request/exchange.js';
import { H2Exchange } from '../http2/h2-exchange.js';
import { H2LocalReply } from '../http2/h2-local-reply.js';
import { isGrpcRequest } from '../http2/grpc-status.js';
import { createH2cServer } from '../http2/h2c-server.js';
import { sendProxyError } from '../http/proxy-error.js';
import { admitRequest } from '../security/admit-request.js';
import type { AdmissionRequest } from '../security/admit-request.js';
import { authzLogFields } from '../security/authz-log.js';
import { trustedClientAddress } from './client-address.js';

export interface GatewayH2 {
  /** Serve one connection as HTTP/2 on Gateway server port `port`. */
  serve(socket: Duplex, port: number): void;
  close(): void;
}

export function createGatewayH2(rt: ProxyRuntime, dispatch: Dispatch): GatewayH2 {
  return createH2cServer<number>((stream, headers, flags, port) => {
    // Every connection is handed over with its port; a stream without one is refused rather than misrouted.
    if (port === undefined) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    else handleStream(rt, dispatch, port, stream, headers, flags);
  });
}

function handleStream(rt: ProxyRuntime, dispatch: Dispatch, port: number, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
  const started = performance.now();
  const authority = headers[':authority'] ?? headers.host ?? '';
  const rawPath = headers[':path'] ?? '';
  const method = headers[':method'] ?? 'GET';
  const cfg = rt.config;
  const host = parseAuthority(authority);
  const grpc = isGrpcRequest(headers['content-type']);
  const reply = new H2LocalReply(stream, grpc);
  const finish = (status: number, reason?: string, decision?: Parameters<typeof authzLogFields>[0]): void => {
    rt.telemetry.record({ direction: 'gateway', method, authority, path: rawPath, status, durationMs: performance.now() - started, reason, ...(grpc && { protocol: 'grpc' as const }), ...authzLogFields(decision) });
  };
  if (!cfg || !host || !rawPath.startsWith('/') || method === 'CONNECT') {
    const status = cfg ? 400 : 503;
    sendProxyError(reply, status, cfg ? 'bad request: invalid :authority, :path or method' : 'proxy has no configuration yet');
    finish(status);
    return;
  }
  const remoteAddress = stream.session?.socket?.remoteAddress ?? '';
  const clientAddress = trustedClientAddress(headers['x-forwarded-for'], remoteAddress, cfg.raw.gateway?.numTrustedProxies ?? 0);
  const ctx = {
    cfg,
    pools: rt.pools,
    peer: undefined,
    sni: undefined,
    destinationIp: stream.session?.socket?.localAddress ?? '',
    destinationPort: port,
    remoteIp: clientAddress,
    onUnknownKey: (uris: string[]) => rt.requestJwksRefresh(uris),
  };
  const request: AdmissionRequest = { method, headers: { ...headers, host: authority }, socket: { remoteAddress } };
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
      const q = admitted.path.indexOf('?');
      const ex = new H2Exchange(stream, headers, flags, { authority, path: q < 0 ? admitted.path : admitted.path.slice(0, q), query: q < 0 ? '' : admitted.path.slice(q + 1), port }, rt.telemetry, 'gateway');
      ex.cfg = cfg;
      // No virtual host for this authority: no routes and no default destination, so the chain answers 404.
      ex.routes = cfg.virtualHost(port, host.host)?.routes ?? [];
      const prior = headers['x-forwarded-for'];
      const xff = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remoteAddress}` : remoteAddress;
      const extra: string[] = ['x-forwarded-proto', 'http', 'x-forwarded-for', xff, 'x-envoy-external-address', clientAddress, ...admitted.addHeaders];
      if (headers['x-request-id'] === undefined) extra.push('x-request-id', randomUUID());
      ex.extraHeaders = extra;
      ex.removeHeaders = new Set([...admitted.removeHeaders, 'x-forwarded-for', 'x-envoy-external-address']);
      dispatch(ex, ex);
    },
    (err: unknown) => {
      rt.log.warn('gateway HTTP/2 stream failed in the proxy', { error: String(err) });
      sendProxyError(reply, 500, 'internal proxy error');
      finish(500, String(err));
    },
  );
}


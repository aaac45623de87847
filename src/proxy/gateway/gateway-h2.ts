/**
 * The ingress gateway's HTTP/2: h2c with prior knowledge on a Gateway server's plain port, and h2 on a port whose
 * server terminates TLS, where ALPN chose `h2` (tls-listener.ts hands the decrypted socket here with what the
 * handshake settled: the server's chain by SNI, the verified client certificate). Each stream takes the gateway's
 * admission (path normalisation, JWT, AuthorizationPolicy: the same admitRequest as HTTP/1.1, answering a gRPC
 * caller in gRPC's terms) and then, as one H2Exchange, the virtual host's routes through the same request path:
 * over TLS only the routes of the server the SNI chose, as for HTTP/1.1. The listener's HTTP/2 bounds apply
 * (h2c-server.ts, h2-server-limits.ts) whichever way the connection came.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { pickVirtualHost } from '../config/compiled-config.js';
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
import { prepareGatewayForward } from './gateway-forward.js';
import { trustedClientAddress } from './client-address.js';
import type { TlsConnectionInfo } from './tls-listener.js';

/** Where a connection came in: the Gateway server port, and for TLS what its handshake settled. */
interface GatewayConnection {
  port: number;
  tls: TlsConnectionInfo | undefined;
}

export interface GatewayH2 {
  /** Serve one connection as HTTP/2 on Gateway server port `port`; `tls` when it arrived over terminated TLS. */
  serve(socket: Duplex, port: number, tls?: TlsConnectionInfo): void;
  close(): void;
}

export function createGatewayH2(rt: ProxyRuntime, dispatch: Dispatch): GatewayH2 {
  const server = createH2cServer<GatewayConnection>((stream, headers, flags, conn) => {
    // Every connection is handed over with its port; a stream without one is refused rather than misrouted.
    if (conn === undefined) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    else handleStream(rt, dispatch, conn, stream, headers, flags);
  });
  return {
    serve: (socket, port, tls) => server.serve(socket, { port, tls }),
    close: () => server.close(),
  };
}

function handleStream(rt: ProxyRuntime, dispatch: Dispatch, conn: GatewayConnection, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
  const { port, tls } = conn;
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
  // Over TLS the socket is the decrypted stream: the addresses are the connection's, kept by the TLS listener.
  const remoteAddress = tls?.remoteAddress ?? stream.session?.socket?.remoteAddress ?? '';
  const clientAddress = trustedClientAddress(headers['x-forwarded-for'], remoteAddress, cfg.raw.gateway?.numTrustedProxies ?? 0);
  const ctx = {
    cfg,
    pools: rt.pools,
    // A client certificate the server verified names the caller, as for HTTP/1.1.
    peer: tls?.peer,
    sni: undefined,
    destinationIp: tls?.localAddress ?? stream.session?.socket?.localAddress ?? '',
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
      // Over TLS only the routes of the server the SNI chose (Istio's separate route table per HTTPS server).
      const vh = tls === undefined ? cfg.virtualHost(port, host.host) : pickVirtualHost(tls.chain.virtualHosts, host.host);
      if (vh?.httpsRedirect === true) {
        // Envoy's require_tls: 301 to the same host and path over https.
        if (!stream.destroyed && !stream.closed) stream.respond({ ':status': 301, location: `https://${host.host}${admitted.path}` }, { endStream: true });
        finish(301, 'httpsRedirect', admitted.decision);
        return;
      }
      const q = admitted.path.indexOf('?');
      const ex = new H2Exchange(stream, headers, flags, { authority, path: q < 0 ? admitted.path : admitted.path.slice(0, q), query: q < 0 ? '' : admitted.path.slice(q + 1), port }, rt.telemetry, 'gateway');
      ex.cfg = cfg;
      // No virtual host for this authority: no routes and no default destination, so the chain answers 404.
      ex.routes = vh?.routes ?? [];
      ex.logFields = authzLogFields(admitted.decision);
      const prior = headers['x-forwarded-for'];
      const xff = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remoteAddress}` : remoteAddress;
      // As for HTTP/1.1 (index.ts): the same edge headers, request id, peer name and trace hop.
      prepareGatewayForward(rt, cfg, ex, headers, { proto: tls === undefined ? 'http' : 'https', forwardedFor: xff, clientAddress }, admitted);
      dispatch(ex, ex);
    },
    (err: unknown) => {
      rt.log.warn('gateway HTTP/2 stream failed in the proxy', { error: String(err) });
      sendProxyError(reply, 500, 'internal proxy error');
      finish(500, String(err));
    },
  );
}


/**
 * HTTP CONNECT on the outbound listener: how an app without capture sends opaque TCP through its sidecar
 * (`CONNECT redis:6379`). The target resolves through the registry like any request; the tunnel is mTLS to the
 * chosen endpoint's sidecar, which applies PeerAuthentication and AuthorizationPolicy to it as TCP.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority } from '../http/authority.js';
import { connectMtls } from '../upstream/mtls-connect.js';

const CONNECT_TIMEOUT_MS = 5_000;

export function handleConnect(rt: ProxyRuntime, req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
  const started = performance.now();
  const authority = req.url ?? '';
  const refuse = (status: number, reason: string): void => {
    rt.telemetry.record({ direction: 'outbound', method: 'CONNECT', authority, path: '', status, durationMs: performance.now() - started, reason });
    client.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : 'Service Unavailable'}\r\ncontent-length: ${Buffer.byteLength(reason) + 1}\r\nconnection: close\r\n\r\n${reason}\n`);
  };
  client.on('error', () => client.destroy());
  const parsed = parseAuthority(authority);
  if (!parsed || parsed.port === undefined) return refuse(400, `CONNECT needs host:port, not "${authority}"`);
  const cfg = rt.config;
  const service = cfg?.service(parsed.host);
  if (!service) return refuse(404, `no service named "${parsed.host}" in the mesh`);
  const balanced = service.ports.get(parsed.port);
  if (!balanced) return refuse(404, `service ${service.host} has no port ${parsed.port}`);
  const ep = balanced.pick();
  if (!ep) return refuse(503, 'no healthy upstream');
  if (!ep.mtls) return refuse(503, 'plaintext tunnels to DISABLE destinations are not supported');
  connectMtls(rt.cert, { address: ep.address, port: ep.inboundPort, sni: balanced.sni, spiffeId: ep.spiffeId }, CONNECT_TIMEOUT_MS, (err, upstream) => {
    if (err || !upstream) return refuse(503, `upstream connect error: ${err?.message ?? 'unknown'}`);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
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
      rt.telemetry.record({ direction: 'outbound', method: 'CONNECT', authority, path: '', status: 200, durationMs: performance.now() - started, upstream: ep.workload });
    });
  }, []);
}

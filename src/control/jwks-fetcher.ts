/**
 * How the control plane fetches a JWKS document. A jwksUri that names a mesh service is fetched the way a sidecar
 * would call it: mTLS to one of its endpoints with the control plane's own SVID, checking the endpoint's identity;
 * any other URI is fetched directly.
 */
import tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { WeftError } from '../errors.js';
import { spiffeIdOfPeer } from '../identity/tls-peer.js';
import type { MeshSnapshot } from './compile/snapshot.js';
import { compileOutbound } from './compile/outbound.js';
import { DEFAULT_JWKS_TIMEOUT_MS, jwksFetchTimeoutMs } from './compile/jwks-timeout.js';

export function jwksFetcher(snapshot: () => MeshSnapshot, clientCredentials: () => { key: string; cert: string; ca: string }): (uri: string) => Promise<string> {
  // undici is loaded at the first fetch: a mesh without RequestAuthentication never pays for its HTTP stack.
  let direct: Dispatcher | undefined;
  return async (uri) => {
    const { Agent, request } = await import('undici');
    direct ??= new Agent({ connect: { timeout: DEFAULT_JWKS_TIMEOUT_MS } });
    const url = new URL(uri);
    const snap = snapshot();
    const host = url.hostname.toLowerCase();
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const service = compileOutbound(snap, snap.mesh.rootNamespace).find((s) => s.host === host || s.aliases.includes(host));
    let dispatcher: Dispatcher = direct;
    if (service && url.protocol === 'http:') {
      const ep = service.ports.find((p) => p.port === port)?.endpoints[0];
      if (!ep) throw new WeftError('UPSTREAM_UNREACHABLE', `no endpoint for ${host}:${port}`);
      const creds = clientCredentials();
      dispatcher = new Agent({
        connect: (_opts, cb) => {
          const socket = tls.connect({
            host: ep.address,
            port: ep.inboundPort,
            servername: `outbound_.${port}_._.${service.host}`,
            key: creds.key,
            cert: creds.cert,
            ca: creds.ca,
            checkServerIdentity: (_h, cert) =>
              spiffeIdOfPeer(cert) === ep.spiffeId ? undefined : new WeftError('PEER_IDENTITY_MISMATCH', `JWKS endpoint is not ${ep.spiffeId}`),
          });
          socket.once('secureConnect', () => cb(null, socket));
          socket.once('error', (err) => cb(err, null));
        },
      });
    }
    try {
      // The rules' timeout bounds the wait for the answer (Envoy's remote_jwks http_uri timeout does the same).
      const timeoutMs = jwksFetchTimeoutMs(snap, uri);
      const res = await request(uri, { dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new WeftError('UPSTREAM_UNREACHABLE', `GET ${uri}: ${res.statusCode}`);
      return body;
    } finally {
      if (dispatcher !== direct) void dispatcher.close();
    }
  };
}

/**
 * For proxy tests: an HTTP/2 app (h2c) behind a sidecar's inbound listener on a PERMISSIVE `http2` port, reached in
 * plaintext as captured callers reach it. The app answers every stream with `<method> <:authority> <host>` as it
 * saw them (`-` for a missing field).
 */
import http2 from 'node:http2';
import type net from 'node:net';
import type { ProxyConfig } from '../proxyconfig/types.js';
import { acceptProxyConfig } from './config/compiled-config.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import { createInboundListener } from './inbound/index.js';
import { listenOnLoopback } from './loopback.fixture.js';
import { testRuntime } from './proxy-runtime.fixture.js';

type AuthorizationPolicy = ProxyConfig['security']['authorizationPolicies'][number];

export interface H2App {
  inboundPort: number;
  /** What the app answered, one line per stream. */
  seenByApp: string[];
  setPolicies(policies: AuthorizationPolicy[]): void;
  close(): Promise<void>;
}

function config(appPort: number, policies: AuthorizationPolicy[]): ProxyConfig {
  return {
    schema: 3,
    version: `api-${policies.map((p) => p.name).join(',')}`,
    proxy: { role: 'sidecar', namespace: 'default', name: 'api', spiffeId: 'spiffe://cluster.local/ns/default/sa/api', labels: { app: 'api' } },
    trustDomain: 'cluster.local',
    inbound: { defaultMode: 'PERMISSIVE', ports: [{ port: appPort, name: 'http2', protocol: 'http2', mode: 'PERMISSIVE' }], servicePorts: [] },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: policies, jwtRules: [], extensionProviders: [] },
  };
}

export async function startH2App(): Promise<H2App> {
  const seenByApp: string[] = [];
  const app = http2.createServer();
  app.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const line = `${headers[':method'] ?? '-'} ${headers[':authority'] ?? '-'} ${headers.host ?? '-'}`;
    seenByApp.push(line);
    stream.respond({ ':status': 200 });
    stream.end(line);
  });
  const rt: ProxyRuntime = testRuntime();
  let inbound: net.Server | undefined;
  const close = async (): Promise<void> => {
    inbound?.close();
    app.close();
    await rt.pools.close();
  };
  try {
    const appPort = await listenOnLoopback(app);
    // Every connection claims to have been dialled at the app port, as iptables REDIRECT leaves it.
    inbound = createInboundListener(rt, () => appPort).server;
    const inboundPort = await listenOnLoopback(inbound);
    rt.config = acceptProxyConfig(config(appPort, []));
    return { inboundPort, seenByApp, setPolicies: (p) => (rt.config = acceptProxyConfig(config(appPort, p))), close };
  } catch (err) {
    await close();
    throw err;
  }
}

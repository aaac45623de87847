/**
 * For proxy tests: a small mesh in one process, without certificates. An app (`httpbin.default`, answering with the
 * method, Host and path it saw) behind its sidecar's inbound listener on a PERMISSIVE port; the sidecar's outbound
 * listener and an ingress gateway (every host routed to httpbin:8000) both reach it in plaintext, as callers of a
 * DISABLE endpoint do. Each proxy reports to its own ProxyMetrics and access-log list.
 */
import http from 'node:http';
import type net from 'node:net';
import type { ProxyConfig } from '../proxyconfig/types.js';
import { acceptProxyConfig } from './config/compiled-config.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import { installConfig } from './proxy-runtime.js';
import type { AccessLogEntry } from './telemetry/access-log.js';
import { ProxyMetrics } from './telemetry/proxy-metrics.js';
import { createInboundListener } from './inbound/index.js';
import { createOutboundServer } from './outbound/index.js';
import { createGatewayListeners } from './gateway/index.js';
import type { GatewayListeners } from './gateway/index.js';
import { listenOnLoopback } from './loopback.fixture.js';
import { testRuntime } from './proxy-runtime.fixture.js';

export const HTTPBIN_FQDN = 'httpbin.default.svc.cluster.local';
const GATEWAY_PORT = 8080;

export interface ProxyUnderTest {
  rt: ProxyRuntime;
  metrics: ProxyMetrics;
  entries: AccessLogEntry[];
}

export interface HttpbinMesh {
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  gatewayPort: number;
  sidecar: ProxyUnderTest;
  gateway: ProxyUnderTest;
  /** Everything the app was asked, as `METHOD host path`. */
  seenByApp: string[];
  /** Give the sidecar these AuthorizationPolicies (none at start). */
  setSidecarPolicies(policies: AuthorizationPolicy[]): void;
  close(): Promise<void>;
}

type AuthorizationPolicy = ProxyConfig['security']['authorizationPolicies'][number];

const security: ProxyConfig['security'] = { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] };

function httpbinService(inboundPort: number, appPort: number): ProxyConfig['outbound']['services'][number] {
  const endpoint = { address: '127.0.0.1', inboundPort, targetPort: appPort, spiffeId: 'spiffe://cluster.local/ns/default/sa/httpbin', mtls: false, workload: 'default/httpbin' };
  return {
    host: HTTPBIN_FQDN,
    namespace: 'default',
    aliases: ['httpbin', 'httpbin.default', 'httpbin.default.svc', HTTPBIN_FQDN],
    ports: [{ port: 8000, name: 'http', protocol: 'http', endpoints: [endpoint] }],
    addresses: [],
  };
}

function sidecarConfig(inboundPort: number, appPort: number, policies: AuthorizationPolicy[] = []): ProxyConfig {
  return {
    schema: 3,
    version: `httpbin-sidecar-${policies.map((p) => p.name).join(',')}`,
    proxy: { role: 'sidecar', namespace: 'default', name: 'httpbin', spiffeId: 'spiffe://cluster.local/ns/default/sa/httpbin', labels: { app: 'httpbin' } },
    trustDomain: 'cluster.local',
    inbound: {
      defaultMode: 'PERMISSIVE',
      ports: [{ port: appPort, name: 'http', protocol: 'http', mode: 'PERMISSIVE' }],
      servicePorts: [{ host: HTTPBIN_FQDN, port: 8000, targetPort: appPort }],
    },
    outbound: { services: [httpbinService(inboundPort, appPort)], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { ...security, authorizationPolicies: policies },
  };
}

function gatewayConfig(inboundPort: number, appPort: number): ProxyConfig {
  return {
    schema: 3,
    version: 'ingress',
    proxy: { role: 'gateway', namespace: 'istio-system', name: 'ingress', spiffeId: 'spiffe://cluster.local/ns/istio-system/sa/ingress', labels: { istio: 'ingressgateway' } },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: { services: [httpbinService(inboundPort, appPort)], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: {
      servers: [
        {
          port: GATEWAY_PORT,
          name: 'http',
          protocol: 'HTTP',
          virtualHosts: [
            {
              gateway: 'istio-system/ingress',
              domains: ['*'],
              routes: [{ source: 'default/httpbin#0', name: '', match: [], destinations: [{ host: HTTPBIN_FQDN, port: 8000, weight: 100 }], timeoutMs: 0 }],
            },
          ],
        },
      ],
    },
    security,
  };
}

function runtime(name: string): ProxyUnderTest {
  const entries: AccessLogEntry[] = [];
  const metrics = new ProxyMetrics(name, () => rt.config?.raw);
  const rt: ProxyRuntime = testRuntime({
    telemetry: {
      record: (e) => {
        entries.push(e);
        metrics.record(e);
      },
    },
    resolver: { resolve: (host) => Promise.reject(new Error(`no DNS in this test: ${host}`)) },
  });
  return { rt, metrics, entries };
}

export async function startHttpbinMesh(): Promise<HttpbinMesh> {
  const seenByApp: string[] = [];
  const app = http.createServer((req, res) => {
    const line = `${req.method ?? ''} ${req.headers.host ?? ''} ${req.url ?? ''}`;
    seenByApp.push(line);
    res.end(line);
  });
  const sidecar = runtime('default/httpbin');
  const gateway = runtime('istio-system/ingress');
  const servers: net.Server[] = [];
  let gatewayListeners: GatewayListeners | undefined;
  const close = async (): Promise<void> => {
    await gatewayListeners?.close();
    for (const s of servers) {
      s.close();
      (s as http.Server).closeAllConnections?.();
    }
    await sidecar.rt.pools.close();
    await gateway.rt.pools.close();
  };
  try {
    servers.push(app);
    const appPort = await listenOnLoopback(app);
    const inbound = createInboundListener(sidecar.rt).server;
    servers.push(inbound);
    const inboundPort = await listenOnLoopback(inbound);
    const outbound = createOutboundServer(sidecar.rt);
    servers.push(outbound);
    const outboundPort = await listenOnLoopback(outbound);
    installConfig(sidecar.rt, acceptProxyConfig(sidecarConfig(inboundPort, appPort)));
    installConfig(gateway.rt, acceptProxyConfig(gatewayConfig(inboundPort, appPort)));
    gatewayListeners = createGatewayListeners(gateway.rt, '127.0.0.1', new Map([[GATEWAY_PORT, 0]]));
    await gatewayListeners.reconcile(gateway.rt.config!);
    const gatewayPort = Number(gatewayListeners.addresses()[String(GATEWAY_PORT)]!.split(':')[1]);
    const setSidecarPolicies = (policies: AuthorizationPolicy[]): void => {
      installConfig(sidecar.rt, acceptProxyConfig(sidecarConfig(inboundPort, appPort, policies)));
    };
    return { appPort, inboundPort, outboundPort, gatewayPort, sidecar, gateway, seenByApp, setSidecarPolicies, close };
  } catch (err) {
    await close();
    throw err;
  }
}

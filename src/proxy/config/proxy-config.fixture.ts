/**
 * Valid ProxyConfigs for tests of what the proxy does with configs and deltas: a sidecar of `shop/web` that reaches
 * the services given, with every section filled (inbound, externals, mesh-bound external routes, an authorization
 * policy, telemetry), so that a change to any one of them can be tried.
 */
import type { ExternalService, OutboundService, ProxyConfig } from '../../proxyconfig/types.js';

export function outboundService(name: string, ports: number[] = [80], over: Partial<OutboundService> = {}): OutboundService {
  const host = `${name}.shop.svc.cluster.local`;
  return {
    host,
    namespace: 'shop',
    aliases: [name, `${name}.shop`, `${name}.shop.svc`, host],
    ports: ports.map((port) => ({
      port,
      name: `http-${port}`,
      protocol: 'http',
      endpoints: [{ address: `10.0.0.${port % 250}`, inboundPort: 15006, targetPort: 8080, spiffeId: `spiffe://cluster.local/ns/shop/sa/${name}`, mtls: true, workload: `shop/${name}-1` }],
    })),
    addresses: [],
    ...over,
  };
}

export function externalService(name: string): ExternalService {
  return {
    source: `shop/${name}`,
    namespace: 'shop',
    hosts: [`${name}.example.com`],
    addresses: [],
    dns: [],
    ports: [{ port: 443, name: 'tls', protocol: 'tls', targetPort: 443 }],
    location: 'MESH_EXTERNAL',
    resolution: 'DNS',
    endpoints: [],
  };
}

/** A route of `cart`'s port 80 that sends a share of its traffic to `dest`: a reference from one service to another. */
export function routedTo(dest: string): OutboundService {
  const svc = outboundService('cart');
  const destination = (host: string, weight: number) => ({ host: `${host}.shop.svc.cluster.local`, port: 80, weight });
  svc.ports[0]!.http = [{ source: 'shop/cart#0', name: '', match: [], destinations: [destination('cart', 50), destination(dest, 50)], timeoutMs: 0 }];
  return svc;
}

export function proxyConfig(version: string, services: OutboundService[] = [outboundService('web'), routedTo('ratings'), outboundService('ratings')]): ProxyConfig {
  return {
    schema: 3,
    version,
    proxy: { role: 'sidecar', namespace: 'shop', name: 'web', spiffeId: 'spiffe://cluster.local/ns/shop/sa/web', labels: { app: 'web' } },
    trustDomain: 'cluster.local',
    inbound: {
      defaultMode: 'STRICT',
      ports: [{ port: 8080, name: 'http', protocol: 'http', mode: 'STRICT' }],
      servicePorts: [{ host: 'web.shop.svc.cluster.local', port: 80, targetPort: 8080 }],
    },
    outbound: {
      services,
      externals: [externalService('api'), externalService('cdn')],
      trafficPolicy: 'REGISTRY_ONLY',
      externalRoutes: [{ host: 'api.example.com', port: 443, protocol: 'tls', tls: [{ source: 'shop/egress#0', match: [{ sniHosts: ['api.example.com'] }], destinations: [{ host: 'egress.shop.svc.cluster.local', port: 443, weight: 100 }] }] }],
      egressGatewayHosts: ['api.example.com'],
    },
    gateway: null,
    security: {
      rootNamespace: 'weft-system',
      pathNormalization: 'BASE',
      authorizationPolicies: [
        {
          namespace: 'shop',
          name: 'web-from-cart',
          annotations: {},
          spec: { selector: { matchLabels: { app: 'web' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/cart'] } }] }] },
        },
      ],
      jwtRules: [],
      extensionProviders: [],
    },
    telemetry: {
      clusterId: 'Kubernetes',
      workloads: [{ namespace: 'shop', name: 'web', spiffeId: 'spiffe://cluster.local/ns/shop/sa/web', app: 'web', version: 'unknown', canonicalService: 'web', canonicalRevision: 'latest' }],
      accessLog: { encoding: 'JSON', format: '' },
    },
    telemetryPolicy: {
      applied: [],
      client: { metrics: { enabled: true, overrides: [] }, accessLog: null, tracing: null },
      server: { metrics: { enabled: true, overrides: [] }, accessLog: null, tracing: null },
    },
  };
}

/**
 * The Gateway API conformance suite's base world (gateway-api conformance/base/manifests.yaml, reduced to what
 * weft runs: the infra, app and web backends and the `same-namespace` and `all-namespaces` Gateways), and a
 * request runner that sends a request through what the compile gives the ingress gateway and the proxy's own route
 * engine, so the tests judge the translation by what a request gets.
 */
import type { Resource } from '../../config/resource.js';
import { parseResources } from '../../config/load.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { compileHttpRoutes, matchHttpRoute } from '../../route/http-route-match.js';
import type { RouteRequest } from '../../route/http-route-match.js';
import { redirectFor } from '../../route/redirect.js';
import { rewritePath } from '../../route/rewrite.js';
import { buildSnapshot } from '../compile/snapshot.js';
import { compileGateway } from '../compile/gateway.js';

export const BASE = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: istio }
spec: { controllerName: istio.io/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: same-namespace, namespace: gateway-conformance-infra }
spec:
  gatewayClassName: istio
  listeners:
  - { name: http, port: 80, protocol: HTTP, allowedRoutes: { namespaces: { from: Same } } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: all-namespaces, namespace: gateway-conformance-infra }
spec:
  gatewayClassName: istio
  listeners:
  - { name: http, port: 8081, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
${['infra-backend-v1', 'infra-backend-v2', 'infra-backend-v3'].map((n) => service('gateway-conformance-infra', n)).join('')}
${service('gateway-conformance-app-backend', 'app-backend-v1')}${service('gateway-conformance-app-backend', 'app-backend-v2')}${service('gateway-conformance-web-backend', 'web-backend')}`;

function service(namespace: string, name: string): string {
  return `---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec: { selector: { app: ${name} }, ports: [{ name: http, port: 8080, targetPort: 3000 }] }
`;
}

/** Loads documents as `weft apply` validates them, each a second younger than the one before (creation order). */
export function load(...texts: string[]): Resource[] {
  return parseResources(texts.join('\n---\n'), 'conformance.yaml').map((l, i) => ({
    ...l.resource,
    metadata: { ...l.resource.metadata, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() } as Resource['metadata'],
  }));
}

/** What a request gets: `backend host:port`, `redirect 302 location`, `direct 500`, `404` or `no route`. */
export function send(resources: readonly Resource[], req: Partial<RouteRequest> & { port?: number }): { answer: string; path: string; rule: string; headers: unknown; mirrors?: unknown; fault?: unknown } {
  const port = req.port ?? 80;
  const servers = compileGateway(buildSnapshot(resources, 1, meshConfigWithDefaults({ trustDomain: 'cluster.local' })), { istio: 'ingressgateway' });
  const server = servers.find((s) => s.port === port);
  const none = { path: '', rule: '', headers: undefined };
  if (server === undefined) return { answer: 'no listener', ...none };
  const table = compileHttpRoutes(server.virtualHosts.map((vh) => ({ name: vh.gateway, domains: vh.domains, routes: vh.routes })));
  const full: RouteRequest = { path: '/', query: '', method: 'GET', authority: 'example.com', scheme: 'http', headers: {}, ...req, port };
  const d = matchHttpRoute(table, full);
  if (d.kind === 'default') return { answer: 'no route', ...none };
  if (d.kind === 'not-found') return { answer: '404', ...none };
  const r = d.rule.route;
  const redirect = redirectFor(d, full, typeof full.query === 'string' ? full.query : '');
  const base = { path: rewritePath(d, full.path), rule: r.name ?? '', headers: r.headers, mirrors: r.mirrors, fault: r.fault };
  if (redirect) return { answer: `redirect ${redirect.status} ${redirect.location}`, ...base };
  if (r.directResponse) return { answer: `direct ${r.directResponse.status}`, ...base };
  const answer = r.destinations.map((x) => `${x.host.split('.')[0]}:${x.port}${r.destinations.length > 1 ? `*${x.weight}` : ''}`).join(' ');
  return { answer, ...base };
}

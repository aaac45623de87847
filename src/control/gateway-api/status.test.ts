/**
 * Status the control plane computes for Gateway API objects, case by case from the conformance suite
 * (gateway-api conformance/tests/*.go, named below), with the spec's condition reasons.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, load, send } from './conformance.fixture.js';
import { translateGatewayApi } from './translate.js';
import type { Condition, GatewayStatus, ParentRefStatus } from './conditions.js';

const INFRA = 'gateway-conformance-infra';

function routeYaml(o: { name: string; namespace?: string; parent?: string; parentExtra?: string; hostnames?: string[]; backend?: string; kind?: string }): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: ${o.kind ?? 'HTTPRoute'}
metadata: { name: ${o.name}, namespace: ${o.namespace ?? INFRA} }
spec:
  parentRefs: [{ name: ${o.parent ?? 'same-namespace'}, namespace: ${INFRA}${o.parentExtra ?? ''} }]
${o.hostnames ? `  hostnames: [${o.hostnames.join(', ')}]\n` : ''}  rules:
  - backendRefs: [${o.backend ?? '{ name: infra-backend-v1, port: 8080 }'}]`;
}

function conditions(status: unknown): Record<string, string> {
  const parents = (status as { parents: ParentRefStatus[] }).parents;
  return Object.fromEntries(parents.flatMap((p) => p.conditions.map((c: Condition) => [c.type, `${c.status} ${c.reason}`])));
}

function routeStatus(docs: string[], name: string, namespace = INFRA): Record<string, string> {
  return conditions(translateGatewayApi(load(BASE, ...docs)).statuses.get(`HTTPRoute/${namespace}/${name}`));
}

describe('route Accepted and ResolvedRefs per parentRef', () => {
  const cases: [string, string[], string, Record<string, string>][] = [
    ['a valid route (HTTPRouteSimpleSameNamespace)', [routeYaml({ name: 'r' })], INFRA, { Accepted: 'True Accepted', ResolvedRefs: 'True ResolvedRefs' }],
    [
      'HTTPRouteInvalidCrossNamespaceParentRef: a Same listener refuses another namespace',
      [routeYaml({ name: 'r', namespace: 'gateway-conformance-web-backend', backend: '{ name: web-backend, port: 8080 }' })],
      'gateway-conformance-web-backend',
      { Accepted: 'False NotAllowedByListeners', ResolvedRefs: 'True ResolvedRefs' },
    ],
    [
      'HTTPRouteCrossNamespace: an All listener takes another namespace',
      [routeYaml({ name: 'r', namespace: 'gateway-conformance-web-backend', parent: 'all-namespaces', backend: '{ name: web-backend, port: 8080 }' })],
      'gateway-conformance-web-backend',
      { Accepted: 'True Accepted', ResolvedRefs: 'True ResolvedRefs' },
    ],
    ['HTTPRouteInvalidParentRefNotMatchingSectionName', [routeYaml({ name: 'r', parentExtra: ', sectionName: nope' })], INFRA, { Accepted: 'False NoMatchingParent', ResolvedRefs: 'True ResolvedRefs' }],
    ['HTTPRouteInvalidParentRefNotMatchingListenerPort', [routeYaml({ name: 'r', parentExtra: ', port: 81' })], INFRA, { Accepted: 'False NoMatchingParent', ResolvedRefs: 'True ResolvedRefs' }],
    ['parentRef with the matching sectionName and port', [routeYaml({ name: 'r', parentExtra: ', sectionName: http, port: 80' })], INFRA, { Accepted: 'True Accepted', ResolvedRefs: 'True ResolvedRefs' }],
    [
      'HTTPRouteInvalidCrossNamespaceBackendRef: no ReferenceGrant',
      [routeYaml({ name: 'r', backend: '{ name: web-backend, namespace: gateway-conformance-web-backend, port: 8080 }' })],
      INFRA,
      { Accepted: 'True Accepted', ResolvedRefs: 'False RefNotPermitted' },
    ],
    [
      'HTTPRouteReferenceGrant: a grant lets the route reach the Service',
      [
        routeYaml({ name: 'r', backend: '{ name: web-backend, namespace: gateway-conformance-web-backend, port: 8080 }' }),
        `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: g, namespace: gateway-conformance-web-backend }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ${INFRA} }]
  to: [{ group: "", kind: Service, name: web-backend }]`,
      ],
      INFRA,
      { Accepted: 'True Accepted', ResolvedRefs: 'True ResolvedRefs' },
    ],
    [
      'a grant for another Service name does not count',
      [
        routeYaml({ name: 'r', backend: '{ name: web-backend, namespace: gateway-conformance-web-backend, port: 8080 }' }),
        `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: g, namespace: gateway-conformance-web-backend }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ${INFRA} }]
  to: [{ group: "", kind: Service, name: other }]`,
      ],
      INFRA,
      { Accepted: 'True Accepted', ResolvedRefs: 'False RefNotPermitted' },
    ],
    ['HTTPRouteInvalidNonExistentBackendRef', [routeYaml({ name: 'r', backend: '{ name: nonexistent, port: 8080 }' })], INFRA, { Accepted: 'True Accepted', ResolvedRefs: 'False BackendNotFound' }],
    ['HTTPRouteInvalidBackendRefUnknownKind', [routeYaml({ name: 'r', backend: '{ group: unknown.example.com, kind: Unknown, name: x }' })], INFRA, { Accepted: 'True Accepted', ResolvedRefs: 'False InvalidKind' }],
  ];
  for (const [name, docs, ns, want] of cases) test(name, () => assert.deepEqual(routeStatus(docs, 'r', ns), want));

  test('HTTPRouteInvalidNonExistentBackendRef: requests get 500', () => {
    assert.equal(send(load(BASE, routeYaml({ name: 'r', backend: '{ name: nonexistent, port: 8080 }' })), {}).answer, 'direct 500');
  });
  test('a partly invalid split: the invalid backend\'s share answers 500, the rest goes to the valid backend', () => {
    const got = send(load(BASE, routeYaml({ name: 'r', backend: '{ name: infra-backend-v1, port: 8080, weight: 3 }, { name: nonexistent, port: 8080, weight: 1 }' })), {});
    assert.equal(got.answer, 'infra-backend-v1:8080');
    assert.deepEqual(got.fault, { abort: { percent: 25, httpStatus: 500 } });
  });
  test('HTTPRouteInvalidCrossNamespaceParentRef: no route is served', () => {
    const docs = [routeYaml({ name: 'r', namespace: 'gateway-conformance-web-backend', backend: '{ name: web-backend, port: 8080 }' })];
    assert.equal(send(load(BASE, ...docs), {}).answer, 'no route');
  });
  test('a parent of another class gets no status from this controller', () => {
    const other = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: other, namespace: ${INFRA} }
spec: { gatewayClassName: someone-else, listeners: [{ name: http, port: 80, protocol: HTTP }] }`;
    const s = translateGatewayApi(load(BASE, other, routeYaml({ name: 'r', parent: 'other' }))).statuses;
    assert.equal(s.get(`HTTPRoute/${INFRA}/r`), undefined);
    assert.equal(s.get(`KubernetesGateway/${INFRA}/other`), undefined);
  });
});

describe('HTTPRouteHostnameIntersection and HTTPRouteListenerHostnameMatching', () => {
  const gw = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: hosts, namespace: ${INFRA} }
spec:
  gatewayClassName: istio
  listeners:
  - { name: listener-1, port: 80, protocol: HTTP, hostname: bar.com }
  - { name: listener-2, port: 80, protocol: HTTP, hostname: foo.bar.com }
  - { name: listener-3, port: 80, protocol: HTTP, hostname: "*.bar.com" }
  - { name: listener-4, port: 80, protocol: HTTP, hostname: "*.foo.com" }`;
  const docs = [
    gw,
    routeYaml({ name: 'backend-v1', parent: 'hosts', parentExtra: ', sectionName: listener-1', hostnames: ['bar.com'] }),
    routeYaml({ name: 'backend-v2', parent: 'hosts', parentExtra: ', sectionName: listener-2', hostnames: ['foo.bar.com'], backend: '{ name: infra-backend-v2, port: 8080 }' }),
    routeYaml({ name: 'backend-v3', parent: 'hosts', parentExtra: ', sectionName: listener-3', backend: '{ name: infra-backend-v3, port: 8080 }' }),
    routeYaml({ name: 'wider', parent: 'hosts', parentExtra: ', sectionName: listener-4', hostnames: ['"*.com"'] }),
    routeYaml({ name: 'disjoint', parent: 'hosts', parentExtra: ', sectionName: listener-1', hostnames: ['other.org'] }),
  ];
  const resources = load(BASE, ...docs);
  const rows: [string, string, string][] = [
    ['bar.com', 'bar.com', 'infra-backend-v1:8080'],
    ['foo.bar.com goes to its exact listener', 'foo.bar.com', 'infra-backend-v2:8080'],
    ['baz.bar.com takes the wildcard listener', 'baz.bar.com', 'infra-backend-v3:8080'],
    ['a.b.bar.com: a wildcard covers several labels', 'a.b.bar.com', 'infra-backend-v3:8080'],
    ['*.com narrowed to the listener *.foo.com: x.foo.com', 'x.foo.com', 'infra-backend-v1:8080'],
    ['*.com narrowed: other.com is not served', 'other.com', 'no route'],
  ];
  for (const [name, host, want] of rows) test(name, () => assert.equal(send(resources, { authority: host }).answer, want));
  test('no hostname in common: NoMatchingListenerHostname', () => {
    assert.deepEqual(conditions(translateGatewayApi(resources).statuses.get(`HTTPRoute/${INFRA}/disjoint`)), { Accepted: 'False NoMatchingListenerHostname', ResolvedRefs: 'True ResolvedRefs' });
  });
});

describe('Gateway and listener status', () => {
  const gwStatus = (docs: string[], name: string): GatewayStatus => translateGatewayApi(load(BASE, ...docs)).statuses.get(`KubernetesGateway/${INFRA}/${name}`) as GatewayStatus;
  const listener = (s: GatewayStatus, name: string): Record<string, string> =>
    Object.fromEntries((s.listeners.find((l) => l.name === name)?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));

  test('GatewayWithAttachedRoutes: attachedRoutes counts accepted routes per listener', () => {
    const s = gwStatus([routeYaml({ name: 'a' }), routeYaml({ name: 'b' }), routeYaml({ name: 'c', parentExtra: ', sectionName: nope' })], 'same-namespace');
    assert.deepEqual(s.listeners.map((l) => [l.name, l.attachedRoutes]), [['http', 2]]);
    assert.deepEqual(Object.fromEntries(s.conditions.map((c) => [c.type, `${c.status} ${c.reason}`])), { Accepted: 'True Accepted', Programmed: 'True Programmed' });
    assert.deepEqual(s.listeners[0]?.supportedKinds.map((k) => k.kind), ['HTTPRoute', 'GRPCRoute']);
  });

  const special = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: special, namespace: ${INFRA} }
spec:
  gatewayClassName: istio
  listeners:
  - { name: tcp-only, port: 9000, protocol: TCP, allowedRoutes: { kinds: [{ kind: TCPRoute }] } }
  - { name: bad-kinds, port: 80, protocol: HTTP, allowedRoutes: { kinds: [{ kind: FooRoute }] } }
  - { name: udp, port: 53, protocol: UDP }
  - { name: https, port: 443, protocol: HTTPS, hostname: secure.example.com, tls: { certificateRefs: [{ name: cert, namespace: gateway-conformance-web-backend }] } }
  - { name: selector, port: 8000, protocol: HTTP, allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { kubernetes.io/metadata.name: gateway-conformance-web-backend } } } } }`;

  test('HTTPRouteDisallowedKind: a TCPRoute-only listener refuses an HTTPRoute', () => {
    assert.deepEqual(routeStatus([special, routeYaml({ name: 'r', parent: 'special', parentExtra: ', sectionName: tcp-only' })], 'r'), { Accepted: 'False NotAllowedByListeners', ResolvedRefs: 'True ResolvedRefs' });
  });
  test('GatewayInvalidRouteKind: ResolvedRefs InvalidRouteKinds', () => {
    assert.deepEqual(listener(gwStatus([special], 'special'), 'bad-kinds')['ResolvedRefs'], 'False InvalidRouteKinds');
  });
  test('an unsupported protocol: Accepted False UnsupportedProtocol', () => {
    assert.equal(listener(gwStatus([special], 'special'), 'udp')['Accepted'], 'False UnsupportedProtocol');
  });
  test('GatewaySecretReferenceGrantSpecific: a certificateRef to another namespace needs a grant', () => {
    assert.equal(listener(gwStatus([special], 'special'), 'https')['ResolvedRefs'], 'False RefNotPermitted');
  });
  test('GatewaySecretInvalidReferenceGrant / missing Secret: InvalidCertificateRef', () => {
    const grant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: g, namespace: gateway-conformance-web-backend }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: Gateway, namespace: ${INFRA} }]
  to: [{ group: "", kind: Secret }]`;
    const l = listener(gwStatus([special, grant], 'special'), 'https');
    assert.equal(l['ResolvedRefs'], 'False InvalidCertificateRef');
    assert.equal(l['Programmed'], 'False Invalid');
  });
  test('allowedRoutes from Selector picks namespaces by kubernetes.io/metadata.name', () => {
    const other = routeYaml({ name: 'r', namespace: 'gateway-conformance-app-backend', parent: 'special', parentExtra: ', sectionName: selector', backend: '{ name: app-backend-v1, port: 8080 }' });
    const picked = routeYaml({ name: 'r', namespace: 'gateway-conformance-web-backend', parent: 'special', parentExtra: ', sectionName: selector', backend: '{ name: web-backend, port: 8080 }' });
    assert.equal(routeStatus([special, other], 'r', 'gateway-conformance-app-backend')['Accepted'], 'False NotAllowedByListeners');
    assert.equal(routeStatus([special, picked], 'r', 'gateway-conformance-web-backend')['Accepted'], 'True Accepted');
  });
  test('GatewayClass Accepted', () => {
    assert.deepEqual(translateGatewayApi(load(BASE)).statuses.get('GatewayClass//istio'), { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Handled by Istio controller' }] });
  });
});

describe('GRPCRoute, TLSRoute and TCPRoute', () => {
  test('GRPCExactMethodMatching and GRPCRouteHeaderMatching', () => {
    const grpc = `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: g, namespace: ${INFRA} }
spec:
  parentRefs: [{ name: same-namespace }]
  rules:
  - { matches: [{ method: { service: grpc.testing.TestService, method: Foo } }], backendRefs: [{ name: infra-backend-v1, port: 8080 }] }
  - { matches: [{ method: { service: grpc.testing.TestService, method: Bar } }], backendRefs: [{ name: infra-backend-v2, port: 8080 }] }
  - { matches: [{ method: { method: Baz } , headers: [{ name: version, value: one }] }], backendRefs: [{ name: infra-backend-v3, port: 8080 }] }`;
    const resources = load(BASE, grpc);
    const post = (path: string, headers: Record<string, string> = {}): string => send(resources, { method: 'POST', path, headers }).answer;
    assert.equal(post('/grpc.testing.TestService/Foo'), 'infra-backend-v1:8080');
    assert.equal(post('/grpc.testing.TestService/Bar'), 'infra-backend-v2:8080');
    assert.equal(post('/grpc.testing.TestService/Qux'), '404');
    assert.equal(post('/any.Service/Baz', { version: 'one' }), 'infra-backend-v3:8080');
    assert.equal(post('/any.Service/Baz'), '404');
  });

  test('TLSRouteSimpleSameNamespace and TCPRoute: the same L4 route model as VirtualService tls and tcp', () => {
    const gw = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: l4, namespace: ${INFRA} }
spec:
  gatewayClassName: istio
  listeners:
  - { name: tls, port: 443, protocol: TLS, hostname: "*.example.com", tls: { mode: Passthrough } }
  - { name: tcp, port: 9000, protocol: TCP }`;
    const tls = `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: { name: t, namespace: ${INFRA} }
spec:
  parentRefs: [{ name: l4, sectionName: tls }]
  hostnames: [abc.example.com]
  rules: [{ backendRefs: [{ name: infra-backend-v1, port: 8080 }] }]`;
    const tcp = `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: c, namespace: ${INFRA} }
spec:
  parentRefs: [{ name: l4, sectionName: tcp }]
  rules: [{ backendRefs: [{ name: infra-backend-v1, port: 8080, weight: 1 }, { name: infra-backend-v2, port: 8080, weight: 3 }] }]`;
    const t = translateGatewayApi(load(BASE, gw, tls, tcp));
    const servers = t.gateways.filter((g) => g.name.startsWith('l4-')).map((g) => g.spec.servers?.[0]);
    assert.deepEqual(servers, [
      { port: { number: 443, name: 'tls', protocol: 'TLS' }, hosts: ['*/*.example.com'], tls: { mode: 'PASSTHROUGH' } },
      { port: { number: 9000, name: 'tcp', protocol: 'TCP' }, hosts: ['*/*'] },
    ]);
    const l4 = t.virtualServices.filter((v) => v.spec.tls || v.spec.tcp).map((v) => v.spec);
    assert.deepEqual(l4, [
      { hosts: ['abc.example.com'], gateways: [`${INFRA}/l4-istio-autogenerated-k8s-gateway-tls`], tls: [{ match: [{ sniHosts: ['abc.example.com'] }], route: [{ destination: { host: `infra-backend-v1.${INFRA}.svc.cluster.local`, port: { number: 8080 } } }] }] },
      {
        hosts: ['*'],
        gateways: [`${INFRA}/l4-istio-autogenerated-k8s-gateway-tcp`],
        tcp: [{ route: [
          { destination: { host: `infra-backend-v1.${INFRA}.svc.cluster.local`, port: { number: 8080 } }, weight: 1 },
          { destination: { host: `infra-backend-v2.${INFRA}.svc.cluster.local`, port: { number: 8080 } }, weight: 3 },
        ] }],
      },
    ]);
    assert.equal(conditions(t.statuses.get(`TLSRoute/${INFRA}/t`))['Accepted'], 'True Accepted');
  });
});

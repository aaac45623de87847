/**
 * One bad configuration per code, each on top of a clean little mesh, each producing exactly its findings (code,
 * object, line) and nothing else. The YAML of a case is loaded first, so its lines are the lines written here.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { loadResourcesLeniently } from '../config/load.js';
import { analyzeResources, schemaFindings } from './index.js';
import type { Finding } from './index.js';

const BASE = `
---
apiVersion: v1
kind: Service
metadata: { name: cart, namespace: shop }
spec: { selector: { app: cart }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: cart-v1, namespace: shop, labels: { app: cart, version: v1 } }
spec: { serviceAccount: cart, command: [node, cart.js], ports: [{ name: http, containerPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec: { selector: { app: db }, ports: [{ name: tcp-db, port: 5432 }] }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: db, namespace: shop, labels: { app: db } }
spec: { serviceAccount: db, command: [db], ports: [{ name: tcp-db, containerPort: 5432 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: front }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: web, namespace: front, labels: { app: web } }
spec: { serviceAccount: web, command: [web], ports: [{ name: http, containerPort: 8080 }] }
`;

const VS = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\n';
const DR = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\n';
const GW = 'apiVersion: networking.istio.io/v1\nkind: Gateway\n';
const AP = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n';
const PA = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n';
const HC = 'apiVersion: weft.dev/v1alpha1\nkind: HostClaim\n';
const MESH_DISABLE = `${PA}metadata: { name: default, namespace: weft-system }\nspec: { mtls: { mode: DISABLE } }\n---\n`;

interface Case {
  name: string;
  yaml: string;
  /** `CODE Kind ns/name @line`; `CODE document @line` for a document with no object. */
  want: string[];
}

const CASES: Case[] = [
  { name: 'IST0101 gateway', want: ['IST0101 VirtualService shop/cart @5'],
    yaml: `${VS}metadata: { name: cart, namespace: shop }\nspec:\n  gateways: [missing-gw]\n  hosts: [cart]\n  http: [{ route: [{ destination: { host: cart } }] }]\n` },
  { name: 'IST0101 destination host', want: ['IST0101 VirtualService shop/cart @8'],
    yaml: `${VS}metadata: { name: cart, namespace: shop }\nspec:\n  hosts: [cart]\n  http:\n  - route:\n    - destination: { host: ghost }\n` },
  { name: 'IST0101 subset', want: ['IST0101 VirtualService shop/cart @8'],
    yaml: `${VS}metadata: { name: cart, namespace: shop }\nspec:\n  hosts: [cart]\n  http:\n  - route:\n    - destination: { host: cart, subset: v9 }\n` },
  { name: 'IST0101 gateway selector', want: ['IST0101 Gateway shop/gw @5'],
    yaml: `${GW}metadata: { name: gw, namespace: shop }\nspec:\n  selector: { app: nothing }\n  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*'] }]\n` },
  { name: 'IST0104', want: ['IST0104 Gateway shop/gw @7'],
    yaml: `${GW}metadata: { name: gw, namespace: shop }\nspec:\n  selector: { app: cart }\n  servers:\n  - port: { number: 9443, name: http, protocol: HTTP }\n    hosts: ['*']\n` },
  { name: 'IST0106', want: ['IST0106 document @6'],
    yaml: `${GW}metadata: { name: gw, namespace: shop }\nspec:\n  selector: { istio: ingressgateway }\n  servrs: []\n` },
  { name: 'IST0107', want: ['IST0107 Service shop/extra @6'],
    yaml: `apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\n  namespace: shop\n  annotations: { sidecar.istio.io/inject: "false" }\nspec: { selector: { app: cart }, ports: [{ name: http, port: 81, targetPort: 8080 }] }\n` },
  { name: 'IST0108', want: ['IST0108 Service shop/extra @6'],
    yaml: `apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\n  namespace: shop\n  annotations: { networking.istio.io/exportToo: "." }\nspec: { selector: { app: cart }, ports: [{ name: http, port: 81, targetPort: 8080 }] }\n` },
  { name: 'IST0109', want: ['IST0109 VirtualService shop/a @5', 'IST0109 VirtualService shop/b @12'],
    yaml: `${VS}metadata: { name: a, namespace: shop }\nspec:\n  hosts: [cart]\n  http: [{ route: [{ destination: { host: cart } }] }]\n---\n${VS}metadata: { name: b, namespace: shop }\nspec:\n  hosts: [cart.shop.svc.cluster.local]\n  http: [{ route: [{ destination: { host: cart } }] }]\n` },
  { name: 'IST0113', want: ['IST0113 DestinationRule shop/cart @13'],
    yaml: `${MESH_DISABLE}${DR}metadata: { name: cart, namespace: shop }\nspec:\n  host: cart\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n` },
  { name: 'IST0118', want: ['IST0118 Service shop/extra @5'],
    yaml: `apiVersion: v1\nkind: Service\nmetadata: { name: extra, namespace: shop }\nspec:\n  ports: [{ name: web, port: 81 }]\n  selector: { app: cart }\n` },
  { name: 'IST0128', want: ['IST0128 DestinationRule shop/cart @7'],
    yaml: `${DR}metadata: { name: cart, namespace: shop }\nspec:\n  host: cart\n  trafficPolicy:\n    tls: { mode: SIMPLE }\n` },
  { name: 'IST0129', want: ['IST0129 DestinationRule shop/cart @9'],
    yaml: `${DR}metadata: { name: cart, namespace: shop }\nspec:\n  host: cart\n  trafficPolicy:\n    portLevelSettings:\n    - port: { number: 80 }\n      tls: { mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem }\n` },
  { name: 'IST0130', want: ['IST0130 VirtualService shop/cart @8'],
    yaml: `${VS}metadata: { name: cart, namespace: shop }\nspec:\n  hosts: [cart]\n  http:\n  - route: [{ destination: { host: cart } }]\n  - match: [{ uri: { prefix: /v2 } }]\n    route: [{ destination: { host: cart } }]\n` },
  { name: 'IST0145', want: ['IST0145 Gateway shop/a @6', 'IST0145 Gateway shop/b @13'],
    yaml: `${GW}metadata: { name: a, namespace: shop }\nspec:\n  selector: { istio: ingressgateway }\n  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [shop.example.com] }]\n---\n${GW}metadata: { name: b, namespace: shop }\nspec:\n  selector: { istio: ingressgateway }\n  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*.example.com'] }]\n` },
  { name: 'KIA0101', want: ['KIA0101 AuthorizationPolicy shop/p @8'],
    yaml: `${AP}metadata: { name: p, namespace: shop }\nspec:\n  rules:\n  - from:\n    - source:\n        namespaces: [nowhere]\n` },
  { name: 'KIA0102', want: ['KIA0102 AuthorizationPolicy shop/p @8'],
    yaml: `${AP}metadata: { name: p, namespace: shop }\nspec:\n  rules:\n  - to:\n    - operation:\n        methods: [get]\n` },
  { name: 'KIA0104', want: ['KIA0104 AuthorizationPolicy shop/p @8'],
    yaml: `${AP}metadata: { name: p, namespace: shop }\nspec:\n  rules:\n  - to:\n    - operation:\n        hosts: [missing.example.com]\n` },
  { name: 'KIA0105', want: ['KIA0105 AuthorizationPolicy shop/p @13'],
    yaml: `${MESH_DISABLE}${AP}metadata: { name: p, namespace: shop }\nspec:\n  rules:\n  - from:\n    - source:\n        namespaces: [front]\n` },
  { name: 'KIA0106', want: ['KIA0106 AuthorizationPolicy shop/p @8'],
    yaml: `${AP}metadata: { name: p, namespace: shop }\nspec:\n  rules:\n  - from:\n    - source:\n        principals: [cluster.local/ns/shop/sa/ghost]\n` },
  { name: 'KIA0201', want: ['KIA0201 DestinationRule shop/a @5', 'KIA0201 DestinationRule shop/b @11'],
    yaml: `${DR}metadata: { name: a, namespace: shop }\nspec:\n  host: cart\n---\n${DR}metadata: { name: b, namespace: shop }\nspec:\n  host: cart.shop.svc.cluster.local\n` },
  { name: 'KIA0202', want: ['KIA0202 DestinationRule shop/ghost @5'],
    yaml: `${DR}metadata: { name: ghost, namespace: shop }\nspec:\n  host: ghost\n` },
  { name: 'KIA0203', want: ['KIA0203 DestinationRule shop/cart @8'],
    yaml: `${DR}metadata: { name: cart, namespace: shop }\nspec:\n  host: cart\n  subsets:\n  - name: v2\n    labels: { version: v2 }\n` },
  { name: 'KIA0204', want: ['KIA0204 DestinationRule shop/cart @10'],
    yaml: `${DR}metadata: { name: mesh, namespace: weft-system }\nspec: { host: '*.local', trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }\n---\n${DR}metadata: { name: cart, namespace: shop }\nspec:\n  host: cart\n  trafficPolicy: { loadBalancer: { simple: RANDOM } }\n` },
  { name: 'KIA0205', want: ['KIA0205 DestinationRule weft-system/mesh @13'],
    yaml: `${MESH_DISABLE}${DR}metadata: { name: mesh, namespace: weft-system }\nspec:\n  host: '*.local'\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n` },
  { name: 'KIA0206', want: ['KIA0206 DestinationRule shop/all @13'],
    yaml: `${MESH_DISABLE}${DR}metadata: { name: all, namespace: shop }\nspec:\n  host: '*.shop.svc.cluster.local'\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n` },
  { name: 'KIA0207', want: ['KIA0207 DestinationRule shop/cart @8'],
    yaml: `${DR}metadata: { name: cart, namespace: shop }\nspec:\n  host: cart\n  trafficPolicy:\n    tls:\n      mode: DISABLE\n` },
  { name: 'WEFT0101', want: ['WEFT0101 AuthorizationPolicy shop/p @6'],
    yaml: `${AP}metadata: { name: p, namespace: shop }\nspec:\n  rules:\n  - from:\n    - source: { namespaces: [front], notNamespaces: [front] }\n` },
  { name: 'WEFT0102', want: ['WEFT0102 AuthorizationPolicy shop/allow @14'],
    yaml: `${AP}metadata: { name: deny, namespace: shop }\nspec:\n  action: DENY\n  rules: [{ from: [{ source: { namespaces: [front] } }] }]\n---\n${AP}metadata: { name: allow, namespace: shop }\nspec:\n  selector: { matchLabels: { app: cart } }\n  rules:\n  - from: [{ source: { namespaces: [front] } }]\n    to: [{ operation: { methods: [GET] } }]\n` },
  { name: 'WEFT0103', want: ['WEFT0103 AuthorizationPolicy shop/p @7'],
    yaml: `${AP}metadata: { name: p, namespace: shop }\nspec:\n  selector: { matchLabels: { app: db } }\n  rules:\n  - to: [{ operation: { paths: [/admin] } }]\n` },
  { name: 'WEFT0104', want: ['WEFT0104 PeerAuthentication shop/cart @8'],
    yaml: `${PA}metadata: { name: cart, namespace: shop }\nspec:\n  selector: { matchLabels: { app: cart } }\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n` },
  { name: 'WEFT0105', want: ['WEFT0105 ServiceEntry shop/ext @5'],
    yaml: `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ext, namespace: shop }\nspec:\n  hosts: ['*.example.com']\n  location: MESH_EXTERNAL\n  resolution: NONE\n  ports: [{ number: 443, name: tls, protocol: TLS }]\n` },
  { name: 'WEFT0106', want: ['WEFT0106 Sidecar shop/s @6'],
    yaml: `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: { name: s, namespace: shop }\nspec:\n  egress:\n  - hosts: [./ghost.shop.svc.cluster.local]\n` },
  { name: 'WEFT0110', want: ['WEFT0110 VirtualService front/shop @12'],
    yaml: `${HC}metadata: { name: shop, namespace: weft-system }\nspec: { hosts: [shop.example.com], namespaces: [shop] }\n---\n${VS}metadata: { name: shop, namespace: front }\nspec:\n  http: [{ route: [{ destination: { host: web } }] }]\n  hosts:\n  - shop.example.com\n` },
  { name: 'WEFT0110 on Gateway API hostnames', want: ['WEFT0110 HTTPRoute front/shop @11', 'WEFT0110 KubernetesGateway front/gw @18'],
    yaml: `${HC}metadata: { name: shop, namespace: weft-system }\nspec: { hosts: [shop.example.com], namespaces: [shop] }\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: shop, namespace: front }\nspec:\n  hostnames:\n  - shop.example.com\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: gw, namespace: front }\nspec:\n  gatewayClassName: istio\n  listeners: [{ name: http, port: 80, protocol: HTTP, hostname: '*.example.com' }]\n` },
  { name: 'WEFT0111', want: ['WEFT0111 HostClaim front/c @6'],
    yaml: `${HC}metadata: { name: c, namespace: front }\nspec:\n  hosts: [front.example.com]\n  namespaces: [shop]\n` },
  { name: 'WEFT0112', want: ['WEFT0112 HostClaim front/a @5', 'WEFT0112 HostClaim shop/b @11'],
    yaml: `${HC}metadata: { name: a, namespace: front }\nspec:\n  hosts: [a.example.com]\n---\n${HC}metadata: { name: b, namespace: shop }\nspec:\n  hosts: ['*.example.com']\n` },
  // A provider MeshConfig does not declare (line 7), and a metrics provider used for tracing (line 9).
  { name: 'WEFT0120', want: ['WEFT0120 Telemetry default/t @7', 'WEFT0120 Telemetry default/t @9'],
    yaml: `apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: { name: t, namespace: default }\nspec:\n  accessLogging:\n  - providers:\n    - name: nope\n  tracing:\n  - providers: [{ name: prometheus }]\n` },
  { name: 'WEFT0121', want: ['WEFT0121 Telemetry default/t @7'],
    yaml: `apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: { name: t, namespace: default }\nspec:\n  metrics:\n  - overrides:\n    - match: { customMetric: my_metric }\n` },
  // The gRPC message counts are emitted, so overriding them is no finding.
  { name: 'no WEFT0121 for the gRPC message counts', want: [],
    yaml: `apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: { name: t, namespace: default }\nspec:\n  metrics:\n  - overrides:\n    - match: { metric: GRPC_REQUEST_MESSAGES }\n      disabled: true\n    - match: { metric: GRPC_RESPONSE_MESSAGES }\n` },
  { name: 'WEFT0122', want: ['WEFT0122 Telemetry default/t @5'],
    yaml: `apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: { name: t, namespace: default }\nspec:\n  targetRef: { kind: Service, name: reviews }\n` },
];

async function analyzeText(yaml: string): Promise<Finding[]> {
  const loaded = await loadResourcesLeniently(['-'], { stdin: Readable.from([`${yaml}${BASE}`]) });
  return [...schemaFindings(loaded.issues), ...analyzeResources(loaded.resources)];
}

function describeFinding(f: Finding): string {
  const object = f.object === undefined ? 'document' : `${f.object.kind} ${f.object.namespace}/${f.object.name}`;
  return `${f.code} ${object} @${f.source?.line ?? 0}`;
}

describe('weft analyze: one bad configuration per code', () => {
  test('the base mesh is clean', async () => {
    assert.deepEqual((await analyzeText('')).map(describeFinding), []);
  });
  for (const c of CASES) {
    test(c.name, async () => {
      const findings = await analyzeText(c.yaml);
      assert.deepEqual(findings.map(describeFinding).sort(), [...c.want].sort());
      for (const f of findings) assert.ok(f.fix.length > 0 && f.message.length > 0, `${f.code} says what is wrong and how to fix it`);
    });
  }
  test('every code of the table has a case', () => {
    const codes = new Set(CASES.flatMap((c) => c.want.map((w) => w.split(' ')[0])));
    assert.equal(codes.size, 36);
  });
});

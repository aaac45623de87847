import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../load.js';
import { formatIssue } from '../issues.js';
import type { ConfigIssue } from '../issues.js';
import { isWeftError } from '../../errors.js';
import { KINDS, findKind, kindByName } from './index.js';

/** The formatted problems a document produces, or [] when it loads. */
function problems(text: string): string[] {
  try {
    parseResources(text, 'x.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err), `expected a WeftError, got ${String(err)}`);
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map(formatIssue);
  }
}

const head = (apiVersion: string, kind: string): string => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: x\n`;

// Each case: a document, and the exact problems (file:line:column: field: reason) it must produce.
const invalid: { name: string; text: string; expect: string[] }[] = [
  {
    name: 'misspelled PeerAuthentication field',
    text: `${head('security.istio.io/v1', 'PeerAuthentication')}  namespace: foo\nspec:\n  mtls:\n    mod: STRICT\n`,
    expect: ['x.yaml:8:5: spec.mtls.mod: unknown field'],
  },
  {
    name: 'PeerAuthentication mode outside the enum',
    text: `${head('security.istio.io/v1', 'PeerAuthentication')}spec:\n  mtls:\n    mode: strict\n`,
    expect: ['x.yaml:7:11: spec.mtls.mode: Invalid option: expected one of "UNSET"|"DISABLE"|"PERMISSIVE"|"STRICT"'],
  },
  {
    name: 'portLevelMtls without a selector',
    text: `${head('security.istio.io/v1', 'PeerAuthentication')}spec:\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n`,
    expect: ['x.yaml:6:3: spec.portLevelMtls: portLevelMtls requires a selector with matchLabels'],
  },
  {
    name: 'portLevelMtls key that is not a port',
    text: `${head('security.istio.io/v1', 'PeerAuthentication')}spec:\n  selector: { matchLabels: { app: a } }\n  portLevelMtls:\n    http:\n      mode: DISABLE\n`,
    expect: ['x.yaml:8:5: spec.portLevelMtls.http: invalid key: portLevelMtls keys must be port numbers'],
  },
  {
    name: 'Service port out of range',
    text: `${head('v1', 'Service')}spec:\n  ports:\n  - port: 70000\n`,
    expect: ['x.yaml:7:11: spec.ports[0].port: port must be 1-65535'],
  },
  {
    name: 'Service duplicate ports and names',
    text: `${head('v1', 'Service')}spec:\n  ports:\n  - { name: http, port: 80 }\n  - { name: http, port: 80 }\n`,
    expect: [
      'x.yaml:8:13: spec.ports[1].name: duplicate port name "http" (also ports[0])',
      'x.yaml:8:25: spec.ports[1].port: duplicate port 80/TCP (also ports[0])',
    ],
  },
  {
    name: 'Service protocol outside the enum and unknown field',
    text: `${head('v1', 'Service')}spec:\n  ports:\n  - port: 80\n    protocol: HTTP\n  selectr: { app: a }\n`,
    expect: [
      'x.yaml:8:15: spec.ports[0].protocol: Invalid option: expected one of "TCP"|"UDP"|"SCTP"',
      'x.yaml:9:3: spec.selectr: unknown field',
    ],
  },
  {
    name: 'Service port name that is not a DNS label',
    text: `${head('v1', 'Service')}spec:\n  ports:\n  - { name: HTTP_Web, port: 80 }\n  - { name: "8080", port: 8080 }\n`,
    expect: ['x.yaml:7:13: spec.ports[0].name: port name must be a DNS-1123 label: lowercase letters, digits and "-"'],
  },
  {
    name: 'Workload without command',
    text: `${head('weft.dev/v1alpha1', 'Workload')}spec:\n  env: { A: "1" }\n`,
    expect: ['x.yaml:5:1: spec.command: required field is missing'],
  },
  {
    name: 'Workload with a non-string env value',
    text: `${head('weft.dev/v1alpha1', 'Workload')}spec:\n  command: [node]\n  env:\n    PORT: 9080\n`,
    expect: ['x.yaml:8:11: spec.env.PORT: expected string, received number'],
  },
  {
    name: 'MeshConfig with a bad trust domain and a too-short TTL',
    text: `${head('weft.dev/v1alpha1', 'MeshConfig')}spec:\n  trustDomain: Example.ORG\n  certificateTTL: 500ms\n`,
    expect: [
      'x.yaml:6:16: spec.trustDomain: trustDomain may contain only lowercase letters, digits, ".", "-" and "_"',
      'x.yaml:7:19: spec.certificateTTL: certificateTTL must be at least 1s',
    ],
  },
  {
    name: 'VirtualService StringMatch with two matchers',
    text: `${head('networking.istio.io/v1', 'VirtualService')}spec:\n  hosts: [a]\n  http:\n  - match:\n    - uri:\n        exact: /a\n        prefix: /b\n    route:\n    - destination: { host: a }\n`,
    expect: ['x.yaml:9:7: spec.http[0].match[0].uri: only one of exact, prefix, regex may be set (found exact, prefix)'],
  },
  {
    name: 'VirtualService bad duration (semantic checks wait for a valid shape)',
    text: `${head('networking.istio.io/v1', 'VirtualService')}spec:\n  hosts: [a]\n  http:\n  - timeout: 10 seconds\n    route:\n    - destination: { host: a }\n  - name: nothing\n`,
    expect: [
      'x.yaml:8:14: spec.http[0].timeout: invalid duration: expected e.g. "10s", "1.5h", "1h30m", "100ms"',
    ],
  },
  {
    name: 'VirtualService route with no action',
    text: `${head('networking.istio.io/v1', 'VirtualService')}spec:\n  hosts: [a]\n  http:\n  - name: nothing\n`,
    expect: ['x.yaml:8:5: spec.http[0]: HTTP route, redirect or direct_response is required'],
  },
  {
    name: 'VirtualService destination without host',
    text: `${head('networking.istio.io/v1', 'VirtualService')}spec:\n  hosts: [a]\n  http:\n  - route:\n    - destination:\n        subset: v1\n`,
    expect: ['x.yaml:9:7: spec.http[0].route[0].destination.host: required field is missing'],
  },
  {
    name: 'DestinationRule duplicate subsets and unknown load balancer',
    text: `${head('networking.istio.io/v1', 'DestinationRule')}spec:\n  host: r\n  trafficPolicy:\n    loadBalancer:\n      simple: FASTEST\n  subsets:\n  - name: v1\n  - name: v1\n`,
    expect: ['x.yaml:9:15: spec.trafficPolicy.loadBalancer.simple: Invalid option: expected one of "UNSPECIFIED"|"LEAST_CONN"|"RANDOM"|"PASSTHROUGH"|"ROUND_ROBIN"|"LEAST_REQUEST"'],
  },
  {
    name: 'DestinationRule duplicate subsets',
    text: `${head('networking.istio.io/v1', 'DestinationRule')}spec:\n  host: r\n  subsets:\n  - name: v1\n  - name: v1\n`,
    expect: ['x.yaml:9:11: spec.subsets[1].name: duplicate subset "v1" (also subsets[0])'],
  },
  {
    name: 'Gateway server without hosts, HTTPS without tls',
    text: `${head('networking.istio.io/v1', 'Gateway')}spec:\n  servers:\n  - port: { number: 443, name: https, protocol: HTTPS }\n    hosts: []\n`,
    expect: ['x.yaml:8:5: spec.servers[0].hosts: a server needs at least one host'],
  },
  {
    name: 'Gateway HTTPS server without tls',
    text: `${head('networking.istio.io/v1', 'Gateway')}spec:\n  servers:\n  - port: { number: 443, name: https, protocol: HTTPS }\n    hosts: ["*"]\n`,
    expect: ['x.yaml:7:5: spec.servers[0].tls: an HTTPS server requires tls settings'],
  },
  {
    name: 'ServiceEntry duplicate port numbers and bad resolution',
    text: `${head('networking.istio.io/v1', 'ServiceEntry')}spec:\n  hosts: [a.example.com]\n  resolution: DNS\n  ports:\n  - { number: 443, name: https, protocol: TLS }\n  - { number: 443, name: tls, protocol: TLS }\n`,
    expect: ['x.yaml:10:15: spec.ports[1].number: duplicate port 443 (also ports[0])'],
  },
  {
    name: 'Sidecar egress host without namespace',
    text: `${head('networking.istio.io/v1', 'Sidecar')}spec:\n  egress:\n  - hosts: ["foo.com"]\n`,
    expect: ['x.yaml:7:13: spec.egress[0].hosts[0]: host must be namespace/dnsName, e.g. "./*" or "istio-system/*"'],
  },
];

describe('invalid documents name file:line:column and field', () => {
  for (const c of invalid) {
    test(c.name, () => {
      assert.deepEqual(problems(c.text), c.expect);
    });
  }
});

describe('kind registry', () => {
  test('every kind is reachable by Kind, plural and short name, case-insensitively', () => {
    for (const k of KINDS) {
      assert.equal(kindByName(k.kind), k);
      assert.equal(kindByName(k.kind.toUpperCase()), k);
      for (const n of k.names) assert.equal(kindByName(n), k);
    }
  });

  const lookups: [string, string, string | undefined][] = [
    ['vs', 'VirtualService', 'networking.istio.io/v1'],
    ['DestinationRules', 'DestinationRule', 'networking.istio.io/v1'],
    ['svc', 'Service', 'v1'],
    ['pa', 'PeerAuthentication', 'security.istio.io/v1'],
    ['gw', 'Gateway', 'networking.istio.io/v1'],
    ['pods', '', undefined],
  ];
  for (const [name, kind, apiVersion] of lookups) {
    test(`kindByName(${name})`, () => {
      const k = kindByName(name);
      assert.equal(k?.apiVersion, apiVersion);
      if (apiVersion !== undefined) assert.equal(k?.kind, kind);
    });
  }

  test('older Istio apiVersions resolve to the v1 kinds', () => {
    assert.equal(findKind('networking.istio.io/v1alpha3', 'VirtualService')?.apiVersion, 'networking.istio.io/v1');
    assert.equal(findKind('networking.istio.io/v1beta1', 'Sidecar')?.apiVersion, 'networking.istio.io/v1');
    assert.equal(findKind('security.istio.io/v1beta1', 'AuthorizationPolicy')?.apiVersion, 'security.istio.io/v1');
    assert.equal(findKind('security.istio.io/v1alpha1', 'PeerAuthentication'), undefined);
    assert.equal(findKind('v1', 'VirtualService'), undefined);
  });

  test('CLI names are unique across kinds', () => {
    const all = KINDS.flatMap((k) => k.names);
    assert.equal(new Set(all).size, all.length);
  });
});

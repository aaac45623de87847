import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerAuthenticationSpec } from '../../config/kinds/peer-authentication.js';
import type { PeerAuthnMode } from '../../proxyconfig/types.js';
import { MESH_DEFAULT_MODE, effectivePeerAuthn, modeForPort } from './peer-authentication.js';
import type { PeerAuthnPolicy } from './peer-authentication.js';

const ROOT = 'weft-system';
const FOO = { namespace: 'foo', labels: { app: 'finance', version: 'v1' } };

function pa(namespace: string, name: string, spec: PeerAuthenticationSpec, creationTimestamp = '2024-01-01T00:00:00Z'): PeerAuthnPolicy {
  return { namespace, name, creationTimestamp, spec };
}
const selector = (matchLabels: Record<string, string>): PeerAuthenticationSpec['selector'] => ({ matchLabels });

interface Row {
  name: string;
  policies: PeerAuthnPolicy[];
  workload?: { namespace: string; labels: Record<string, string> };
  want: PeerAuthnMode;
  /** Port → mode expected from modeForPort. */
  ports?: Record<number, PeerAuthnMode>;
}

/*
 * Rows follow Istio's precedence as the PeerAuthentication reference states it (istio.io/latest/docs/reference/config/
 * security/peer_authentication: mesh in the root namespace, namespace-wide without selector, workload with selector,
 * UNSET inherits, port-level settings need a selector) and the cases of TestComposePeerAuthentication in istio/istio
 * pilot/pkg/security/authn/policy_applier_test.go ("mesh only", "mesh vs namespace", "ignore non-empty selector in
 * root namespace", "inheritance: ...", "multiple ... policy", "port level"). The one deliberate difference: with no
 * policy at all weft answers STRICT where Istio answers PERMISSIVE.
 */
const rows: Row[] = [
  { name: 'no policy anywhere: STRICT (weft, unlike Istio PERMISSIVE)', policies: [], want: 'STRICT' },
  { name: 'mesh-wide only', policies: [pa(ROOT, 'default', { mtls: { mode: 'PERMISSIVE' } })], want: 'PERMISSIVE' },
  { name: 'mesh-wide DISABLE', policies: [pa(ROOT, 'default', { mtls: { mode: 'DISABLE' } })], want: 'DISABLE' },
  {
    name: 'namespace overrides mesh',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'STRICT' } }), pa('foo', 'default', { mtls: { mode: 'PERMISSIVE' } })],
    want: 'PERMISSIVE',
  },
  {
    name: 'another namespace policy does not apply',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'PERMISSIVE' } }), pa('bar', 'default', { mtls: { mode: 'DISABLE' } })],
    want: 'PERMISSIVE',
  },
  {
    name: 'workload selector overrides namespace',
    policies: [
      pa('foo', 'default', { mtls: { mode: 'PERMISSIVE' } }),
      pa('foo', 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'STRICT' } }),
    ],
    want: 'STRICT',
  },
  {
    name: 'workload selector overrides mesh (namespace has none)',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'STRICT' } }), pa('foo', 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'DISABLE' } })],
    want: 'DISABLE',
  },
  {
    name: 'selector that does not match the workload is ignored',
    policies: [pa('foo', 'default', { mtls: { mode: 'PERMISSIVE' } }), pa('foo', 'other', { selector: selector({ app: 'other' }), mtls: { mode: 'DISABLE' } })],
    want: 'PERMISSIVE',
  },
  {
    name: 'selector must match every label',
    policies: [pa('foo', 'v2', { selector: selector({ app: 'finance', version: 'v2' }), mtls: { mode: 'DISABLE' } })],
    want: 'STRICT',
  },
  {
    name: 'UNSET at mesh level inherits the default',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'UNSET' } })],
    want: 'STRICT',
  },
  {
    name: 'UNSET at namespace level inherits mesh',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'PERMISSIVE' } }), pa('foo', 'default', { mtls: { mode: 'UNSET' } })],
    want: 'PERMISSIVE',
  },
  {
    name: 'missing mtls at workload level inherits namespace',
    policies: [pa('foo', 'default', { mtls: { mode: 'DISABLE' } }), pa('foo', 'finance', { selector: selector({ app: 'finance' }) })],
    want: 'DISABLE',
  },
  {
    name: 'UNSET at workload and namespace inherits mesh (mesh to namespace to workload)',
    policies: [
      pa(ROOT, 'default', { mtls: { mode: 'PERMISSIVE' } }),
      pa('foo', 'default', { mtls: { mode: 'UNSET' } }),
      pa('foo', 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'UNSET' } }),
    ],
    want: 'PERMISSIVE',
  },
  {
    name: 'empty namespace and workload policies fall to the weft default',
    policies: [pa('foo', 'default', {}), pa('foo', 'finance', { selector: selector({ app: 'finance' }) })],
    want: 'STRICT',
  },
  {
    name: 'port-level beats workload-level for its port only',
    policies: [pa('foo', 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } })],
    want: 'STRICT',
    ports: { 8080: 'DISABLE', 9080: 'STRICT' },
  },
  {
    name: 'port-level with workload UNSET: rest inherits namespace (reference example 4)',
    policies: [
      pa('foo', 'default', { mtls: { mode: 'PERMISSIVE' } }),
      pa('foo', 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'UNSET' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } }),
    ],
    want: 'PERMISSIVE',
    ports: { 8080: 'DISABLE', 9080: 'PERMISSIVE' },
  },
  {
    name: 'port-level UNSET and empty inherit the workload mode (istio "port level" case)',
    policies: [
      pa(ROOT, 'default', { mtls: { mode: 'PERMISSIVE' } }),
      pa('foo', 'finance', { selector: selector({ app: 'finance' }), portLevelMtls: { '80': { mode: 'DISABLE' }, '90': { mode: 'UNSET' }, '100': {} } }),
    ],
    want: 'PERMISSIVE',
    ports: { 80: 'DISABLE', 90: 'PERMISSIVE', 100: 'PERMISSIVE' },
  },
  {
    name: 'port-level in a policy without selector is ignored',
    policies: [pa('foo', 'default', { mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } })],
    want: 'STRICT',
    ports: { 8080: 'STRICT' },
  },
  {
    name: 'port-level of a mesh-wide policy is ignored',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } })],
    want: 'PERMISSIVE',
    ports: { 8080: 'PERMISSIVE' },
  },
  {
    name: 'selector policy in another namespace is ignored',
    policies: [pa('bar', 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'DISABLE' }, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } })],
    want: 'STRICT',
    ports: { 8080: 'STRICT' },
  },
  {
    name: 'root-namespace selector policy is ignored for a workload elsewhere',
    policies: [pa(ROOT, 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'DISABLE' } })],
    want: 'STRICT',
  },
  {
    name: 'root-namespace selector policy applies to a root-namespace workload',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'STRICT' } }), pa(ROOT, 'finance', { selector: selector({ app: 'finance' }), mtls: { mode: 'PERMISSIVE' } })],
    workload: { namespace: ROOT, labels: { app: 'finance' } },
    want: 'PERMISSIVE',
  },
  {
    name: 'root-namespace workload takes the mesh policy as its namespace policy',
    policies: [pa(ROOT, 'default', { mtls: { mode: 'DISABLE' } })],
    workload: { namespace: ROOT, labels: { app: 'istiod' } },
    want: 'DISABLE',
  },
  {
    name: 'oldest mesh policy wins',
    policies: [
      pa(ROOT, 'now', { mtls: { mode: 'DISABLE' } }, '2024-01-01T00:00:01Z'),
      pa(ROOT, 'second-ago', { mtls: { mode: 'PERMISSIVE' } }, '2024-01-01T00:00:00Z'),
    ],
    want: 'PERMISSIVE',
  },
  {
    name: 'oldest namespace policy wins; a tie goes to the first name',
    policies: [
      pa('foo', 'now', { mtls: { mode: 'DISABLE' } }, '2024-01-01T00:00:01Z'),
      pa('foo', 'second-later', { mtls: { mode: 'STRICT' } }, '2024-01-01T00:00:00Z'),
      pa('foo', 'second-ago', { mtls: { mode: 'PERMISSIVE' } }, '2024-01-01T00:00:00Z'),
    ],
    want: 'PERMISSIVE',
  },
  {
    name: 'oldest matching workload policy wins, its port-levels only',
    policies: [
      pa('foo', 'newer', { selector: selector({ app: 'finance' }), mtls: { mode: 'DISABLE' }, portLevelMtls: { '9000': { mode: 'DISABLE' } } }, '2024-02-01T00:00:00Z'),
      pa('foo', 'older', { selector: selector({ version: 'v1' }), mtls: { mode: 'PERMISSIVE' } }, '2024-01-01T00:00:00Z'),
    ],
    want: 'PERMISSIVE',
    ports: { 9000: 'PERMISSIVE' },
  },
];

describe('effectivePeerAuthn: Istio precedence with a STRICT default', () => {
  for (const row of rows) {
    test(row.name, () => {
      const got = effectivePeerAuthn(row.policies, ROOT, row.workload ?? FOO);
      assert.equal(got.defaultMode, row.want);
      for (const [port, mode] of Object.entries(row.ports ?? {})) {
        assert.equal(modeForPort(got, Number(port)), mode, `port ${port}`);
      }
    });
  }

  test('the default is STRICT', () => {
    assert.equal(MESH_DEFAULT_MODE, 'STRICT');
  });

  test('portModes lists exactly the ports a port-level rule names', () => {
    const got = effectivePeerAuthn(
      [pa('foo', 'finance', { selector: selector({ app: 'finance' }), portLevelMtls: { '8080': { mode: 'DISABLE' }, '9090': { mode: 'UNSET' } } })],
      ROOT,
      FOO,
    );
    assert.deepEqual([...got.portModes.entries()].sort(([a], [b]) => a - b), [
      [8080, 'DISABLE'],
      [9090, 'STRICT'],
    ]);
  });

  test('an empty matchLabels selector counts as no selector (namespace-wide)', () => {
    const got = effectivePeerAuthn([pa('foo', 'default', { selector: { matchLabels: {} }, mtls: { mode: 'PERMISSIVE' } })], ROOT, FOO);
    assert.equal(got.defaultMode, 'PERMISSIVE');
  });

  test('input order does not change the result', () => {
    const a = pa('foo', 'a', { mtls: { mode: 'DISABLE' } }, '2024-01-01T00:00:00Z');
    const b = pa('foo', 'b', { mtls: { mode: 'PERMISSIVE' } }, '2024-01-01T00:00:00Z');
    assert.equal(effectivePeerAuthn([a, b], ROOT, FOO).defaultMode, 'DISABLE');
    assert.equal(effectivePeerAuthn([b, a], ROOT, FOO).defaultMode, 'DISABLE');
  });
});

/** How proxy-config and route check name a proxy, resolved against the proxies the control plane knows. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyName, resolveProxyId } from './proxy-name.js';

const KNOWN = [
  { id: 'sidecar/default/client', role: 'sidecar', namespace: 'default', name: 'client' },
  { id: 'sidecar/shop/client', role: 'sidecar', namespace: 'shop', name: 'client' },
  { id: 'gateway/weft-system/ingressgateway', role: 'gateway', namespace: 'weft-system', name: 'ingressgateway' },
];

test('names resolve to proxy ids', () => {
  const cases: Array<[string, string | undefined, string]> = [
    ['client', undefined, 'sidecar/default/client'],
    ['client', 'shop', 'sidecar/shop/client'],
    ['shop/client', undefined, 'sidecar/shop/client'],
    ['sidecar/shop/client', undefined, 'sidecar/shop/client'],
    ['ingressgateway', undefined, 'gateway/weft-system/ingressgateway'],
    ['gateway/weft-system/ingressgateway', undefined, 'gateway/weft-system/ingressgateway'],
  ];
  for (const [arg, ns, id] of cases) assert.equal(resolveProxyId(parseProxyName(arg, ns), KNOWN), id, `${arg} -n ${ns}`);
});

test('unknown or malformed names are refused', () => {
  assert.throws(() => resolveProxyId(parseProxyName('nobody', undefined), KNOWN), /no proxy of workload "nobody"/);
  assert.throws(() => resolveProxyId(parseProxyName('client', 'other'), KNOWN), /in namespace other/);
  assert.throws(() => parseProxyName('a//b', undefined), /names no workload/);
  assert.throws(() => parseProxyName('pod/ns/x', undefined), /starts with sidecar\/ or gateway\//);
});

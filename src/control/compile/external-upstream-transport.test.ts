/**
 * DestinationRule `proxyProtocol` and `tunnel` toward ServiceEntry hosts: carried per host from the rule's top level
 * (Istio's PortTrafficPolicy has neither), a subset's never (a ServiceEntry host is reached without subsets), and
 * through ProxyConfigSchema (the fixture parses what it compiles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import { serviceEntry, sidecarConfig, snapshot, workload } from './outbound.fixture.js';

const DB = serviceEntry('default', 'db', {
  hosts: ['db.example.com'],
  ports: [
    { number: 5432, name: 'tcp', protocol: 'TCP' },
    { number: 5433, name: 'tls', protocol: 'TLS' },
  ],
  resolution: 'DNS',
});
const rule = (spec: unknown): Resource => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { namespace: 'default', name: 'db', labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z' } as Resource['metadata'],
  spec,
});

const entry = (resources: Resource[]) => sidecarConfig(snapshot([DB, workload('default', 'sleep'), ...resources]), 'default', 'sleep').outbound.externals.find((e) => e.source === 'default/db');

test("proxyProtocol: the rule's version (V1 when unset), once per host", () => {
  assert.deepEqual(entry([rule({ host: 'db.example.com', trafficPolicy: { proxyProtocol: {} } })])?.proxyProtocol, [{ host: 'db.example.com', version: 'V1' }]);
  assert.deepEqual(entry([rule({ host: 'db.example.com', trafficPolicy: { proxyProtocol: { version: 'V2' } } })])?.proxyProtocol, [{ host: 'db.example.com', version: 'V2' }]);
});

test('tunnel: CONNECT when the protocol is unset, targetHost and targetPort as written', () => {
  assert.deepEqual(entry([rule({ host: 'db.example.com', trafficPolicy: { tunnel: { targetHost: 'db.internal.example.com', targetPort: 5432 } } })])?.tunnels, [
    { host: 'db.example.com', tunnel: { protocol: 'CONNECT', targetHost: 'db.internal.example.com', targetPort: 5432 } },
  ]);
  assert.equal(entry([rule({ host: 'db.example.com', trafficPolicy: { tunnel: { protocol: 'POST', targetHost: '10.0.0.5', targetPort: 5432 } } })])?.tunnels?.[0]?.tunnel.protocol, 'POST');
});

test("neither without a rule that says it; a subset's setting does not reach the host", () => {
  const none = entry([rule({ host: 'db.example.com', trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 } } } })]);
  assert.equal(none?.proxyProtocol, undefined);
  assert.equal(none?.tunnels, undefined);
  const subsetOnly = entry([rule({ host: 'db.example.com', subsets: [{ name: 'a', labels: { v: 'a' }, trafficPolicy: { proxyProtocol: { version: 'V2' } } }] })]);
  assert.equal(subsetOnly?.proxyProtocol, undefined);
  assert.equal(entry([])?.proxyProtocol, undefined);
});

test('the ProxyConfig schema refuses a version or tunnel protocol Istio does not have', () => {
  const cfg = sidecarConfig(snapshot([DB, workload('default', 'sleep'), rule({ host: 'db.example.com', trafficPolicy: { proxyProtocol: { version: 'V2' } } })]), 'default', 'sleep');
  const withEntry = (change: Record<string, unknown>) => ({ ...cfg, outbound: { ...cfg.outbound, externals: cfg.outbound.externals.map((e) => (e.source === 'default/db' ? { ...e, ...change } : e)) } });
  assert.equal(ProxyConfigSchema.safeParse(withEntry({})).success, true);
  assert.equal(ProxyConfigSchema.safeParse(withEntry({ proxyProtocol: [{ host: 'db.example.com', version: 'V3' }] })).success, false);
  assert.equal(ProxyConfigSchema.safeParse(withEntry({ tunnels: [{ host: 'db.example.com', tunnel: { protocol: 'GET', targetHost: 'a', targetPort: 1 } }] })).success, false);
});

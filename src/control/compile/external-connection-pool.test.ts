/**
 * DestinationRule `connectionPool` toward ServiceEntry hosts: compiled per host and port with Istio's port-level
 * merge and defaults, exactly as for a mesh cluster (the same compileTrafficPolicy), and carried only where a rule
 * applies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { compileTrafficPolicy } from './cluster-policy.js';
import { serviceEntry, sidecarConfig, snapshot, workload } from './outbound.fixture.js';

const API = serviceEntry('default', 'api', {
  hosts: ['api.example.com'],
  ports: [
    { number: 80, name: 'http', protocol: 'HTTP' },
    { number: 443, name: 'https', protocol: 'HTTPS' },
  ],
  resolution: 'DNS',
});
const rule = (spec: unknown): Resource => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { namespace: 'default', name: 'api', labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z' } as Resource['metadata'],
  spec,
});

const pools = (resources: Resource[]) =>
  sidecarConfig(snapshot([API, workload('default', 'sleep'), ...resources]), 'default', 'sleep').outbound.externals.find((e) => e.source === 'default/api')?.connectionPools;

test('a rule\'s connectionPool reaches each port of the entry, port-level settings replacing the top level', () => {
  const top = { tcp: { maxConnections: 3, connectTimeout: '250ms', tcpKeepalive: { time: '30s' }, maxConnectionDuration: '1m' }, http: { http1MaxPendingRequests: 2, maxRequestsPerConnection: 1, idleTimeout: '5s', maxRetries: 4 } };
  const port443 = { tcp: { maxConnections: 9 } };
  const got = pools([rule({ host: 'api.example.com', trafficPolicy: { connectionPool: top, portLevelSettings: [{ port: { number: 443 }, connectionPool: port443 }] } })]);
  assert.deepEqual(got?.map((p) => [p.host, p.port]), [['api.example.com', 80], ['api.example.com', 443]]);
  // The same numbers a mesh cluster gets from the same policy.
  assert.deepEqual(got?.[0]?.connectionPool, compileTrafficPolicy({ connectionPool: top } as never).connectionPool);
  assert.deepEqual(got?.[1]?.connectionPool, compileTrafficPolicy({ connectionPool: port443 } as never).connectionPool);
  const p80 = got![0]!.connectionPool;
  assert.deepEqual(
    [p80.maxConnections, p80.connectTimeoutMs, p80.tcpKeepalive?.timeMs, p80.maxConnectionDurationMs, p80.maxPendingRequests, p80.maxRequestsPerConnection, p80.httpIdleTimeoutMs, p80.maxRetries],
    [3, 250, 30_000, 60_000, 2, 1, 5_000, 4],
  );
});

test('no rule for the host: nothing carried (the pools keep their fixed settings)', () => {
  assert.equal(pools([]), undefined);
  assert.equal(pools([rule({ host: 'other.example.com', trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 } } } })]), undefined);
});

/**
 * The client address at the gateway. Rows from Envoy's x-forwarded-for documentation (edge proxy examples 1 and 3), Istio's network topology page
 * (numTrustedProxies: 2 with `56.5.6.7, 72.9.5.6, 98.1.2.3`) and the fallbacks both describe.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAuthorizationPolicies } from '../../authz/index.js';
import type { AuthorizationPolicySpec } from '../../config/kinds/authorization-policy.js';
import { trustedClientAddress } from './client-address.js';

const rows: Array<[string, string | string[] | undefined, number, string]> = [
  ['Envoy example 1: no trusted proxy, XFF ignored', '203.0.113.128, 203.0.113.10, 203.0.113.1', 0, '192.0.2.5'],
  ['Envoy example 3: two trusted proxies, 2nd from the right', '203.0.113.128, 203.0.113.10, 203.0.113.1', 2, '203.0.113.10'],
  ['Istio network-topologies: numTrustedProxies 2', '56.5.6.7, 72.9.5.6, 98.1.2.3', 2, '72.9.5.6'],
  ['one trusted proxy: the last entry', '56.5.6.7, 72.9.5.6, 98.1.2.3', 1, '98.1.2.3'],
  ['exactly N entries: the first', '56.5.6.7, 72.9.5.6', 2, '56.5.6.7'],
  ['fewer entries than trusted proxies: the peer', '56.5.6.7', 2, '192.0.2.5'],
  ['no XFF: the peer', undefined, 2, '192.0.2.5'],
  ['an entry that is not an address: the peer', 'unknown, 72.9.5.6', 2, '192.0.2.5'],
  ['an address with a port is not an address: the peer', '72.9.5.6:443', 1, '192.0.2.5'],
  ['an empty last entry: the peer', '72.9.5.6,', 1, '192.0.2.5'],
  ['no spaces', '56.5.6.7,72.9.5.6,98.1.2.3', 3, '56.5.6.7'],
  ['IPv6 entries', '2001:db8::7, 198.51.100.1', 2, '2001:db8::7'],
  ['several XFF header lines read as one list', ['56.5.6.7', '72.9.5.6, 98.1.2.3'], 2, '72.9.5.6'],
];
for (const [name, xff, n, want] of rows) {
  test(name, () => assert.equal(trustedClientAddress(xff, '192.0.2.5', n), want));
}

// Istio's ingress-policy task (tasks/security/authorization/authz-ingress): an ALLOW policy on the gateway with
// remoteIpBlocks ["1.2.3.4", "5.6.7.0/24"] behind one HTTP load balancer (numTrustedProxies: 1), judged by the
// same engine the gateway runs, with remote.ip derived as the gateway derives it.
describe('ingress-policy: remoteIpBlocks, notRemoteIpBlocks and remote.ip at the gateway', () => {
  const scope = { rootNamespace: 'istio-system', workloadNamespace: 'istio-system', workloadLabels: { app: 'istio-ingressgateway' } };
  const LB = '10.0.0.9';
  const decide = (spec: AuthorizationPolicySpec, xff: string | undefined, n: number): string =>
    compileAuthorizationPolicies([{ namespace: 'istio-system', name: 'ingress-policy', spec }], scope).evaluate({
      connection: { sourceIp: LB, remoteIp: trustedClientAddress(xff, LB, n), destinationIp: '10.0.0.2', destinationPort: 8080 },
      http: { method: 'GET', host: 'httpbin.example.com', path: '/headers', headers: xff === undefined ? {} : { 'x-forwarded-for': xff } },
    }).decision;
  const remoteAllow: AuthorizationPolicySpec = { action: 'ALLOW', rules: [{ from: [{ source: { remoteIpBlocks: ['1.2.3.4', '5.6.7.0/24'] } }] }] };
  const ipAllow: AuthorizationPolicySpec = { action: 'ALLOW', rules: [{ from: [{ source: { ipBlocks: ['1.2.3.4', '5.6.7.0/24'] } }] }] };
  const remoteDeny: AuthorizationPolicySpec = { action: 'DENY', rules: [{ from: [{ source: { notRemoteIpBlocks: ['1.2.3.4', '5.6.7.0/24'] } }] }] };
  const whenRemote: AuthorizationPolicySpec = { action: 'ALLOW', rules: [{ when: [{ key: 'remote.ip', values: ['5.6.7.0/24'] }] }] };
  const rows: Array<[string, AuthorizationPolicySpec, string | undefined, number, 'ALLOW' | 'DENY']> = [
    ['the listed client, as the load balancer reports it', remoteAllow, '1.2.3.4', 1, 'ALLOW'],
    ['a client in the listed CIDR', remoteAllow, '5.6.7.8', 1, 'ALLOW'],
    ['another client', remoteAllow, '8.8.8.8', 1, 'DENY'],
    ['no XFF: the load balancer itself is the client', remoteAllow, undefined, 1, 'DENY'],
    ['a forged entry before the load balancer\'s does not count', remoteAllow, '1.2.3.4, 8.8.8.8', 1, 'DENY'],
    ['numTrustedProxies 0: XFF is not trusted at all', remoteAllow, '1.2.3.4', 0, 'DENY'],
    ['ipBlocks is the peer, never XFF', ipAllow, '1.2.3.4', 1, 'DENY'],
    ['deny list: a client outside it is denied', remoteDeny, '8.8.8.8', 1, 'DENY'],
    ['deny list: a listed client passes', remoteDeny, '5.6.7.200', 1, 'ALLOW'],
    ['remote.ip condition', whenRemote, '5.6.7.1', 1, 'ALLOW'],
    ['two trusted proxies: the second from the right', remoteAllow, '1.2.3.4, 172.16.0.1', 2, 'ALLOW'],
  ];
  for (const [name, spec, xff, n, want] of rows) test(name, () => assert.equal(decide(spec, xff, n), want));
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizationPolicySpecSchema, checkAuthorizationPolicy } from '../config/kinds/authorization-policy.js';

function issues(spec: unknown): string[] {
  const parsed = AuthorizationPolicySpecSchema.safeParse(spec);
  if (!parsed.success) return parsed.error.issues.map((i) => `schema: ${i.path.join('.')}: ${i.message}`);
  return checkAuthorizationPolicy(parsed.data).map((i) => `${i.path.join('.')}: ${i.message}`);
}

// Rows follow istio/istio pkg/config/validation (ValidateAuthorizationPolicy) and pkg/config/security
// (ValidateAttribute, CheckValidPathTemplate, ValidateIPs, ValidatePorts), plus the reference's path-template rules.
const VALID: Array<[string, unknown]> = [
  ['empty spec (allow nothing)', {}],
  ['allow all', { rules: [{}] }],
  ['full rule', { selector: { matchLabels: { app: 'httpbin' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/a/sa/b'], ipBlocks: ['10.0.0.0/8', '2001:db8::/32', '1.2.3.4'] } }], to: [{ operation: { methods: ['GET'], paths: ['/info*', '*.html', '*', '/foo/{*}/bar/{**}'], ports: ['8080'] } }], when: [{ key: 'request.auth.claims[realm][role]', values: ['admin'] }, { key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }, { key: 'destination.port', notValues: ['9000'] }] }] }],
  ['CUSTOM with provider', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }],
  ['DENY with empty rule', { action: 'DENY', rules: [{}] }],
  ['serviceAccounts', { rules: [{ from: [{ source: { serviceAccounts: ['ns/sa', 'sa'] } }] }] }],
  ['AUDIT', { action: 'AUDIT', rules: [{ to: [{ operation: { paths: ['/audit'] } }] }] }],
  // builder testdata trust-domains-in.yaml; security_test.go source.trustDomain values
  ['trustDomains and notTrustDomains', { rules: [{ from: [{ source: { trustDomains: ['cluster.local', 'another.local'] } }, { source: { notTrustDomains: ['bad*', 'untrusted'] } }] }] }],
  ['trustDomains with serviceAccounts', { rules: [{ from: [{ source: { trustDomains: ['*'], serviceAccounts: ['ns/sa'] } }] }] }],
  ['source.trustDomain values', { rules: [{ when: [{ key: 'source.trustDomain', values: ['cluster.local', '*', 'foo*', '*bar'] }] }] }],
];

const INVALID: Array<[string, unknown, RegExp]> = [
  ['unknown field rejected by the schema', { rules: [{ form: [] }] }, /schema/],
  ['unknown action', { action: 'LOG' }, /schema/],
  ['CUSTOM without provider', { action: 'CUSTOM', rules: [{}] }, /provider\.name: `provider.name` must not be empty/],
  ['CUSTOM without rules', { action: 'CUSTOM', provider: { name: 'opa' } }, /CUSTOM action without `rules`/],
  ['provider with ALLOW', { provider: { name: 'opa' }, rules: [{}] }, /must not be with non CUSTOM action/],
  ['CUSTOM with principals', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ from: [{ source: { principals: ['a'] } }] }] }, /not supported with CUSTOM/],
  ['CUSTOM with request.auth when', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ when: [{ key: 'request.auth.claims[a]', values: ['b'] }] }] }, /not supported with CUSTOM/],
  ['DENY without rules', { action: 'DENY' }, /DENY action without `rules`/],
  ['empty from', { rules: [{ from: [] }] }, /`from` must not be empty/],
  ['nil source', { rules: [{ from: [{}] }] }, /`from.source` must not be nil/],
  ['empty source', { rules: [{ from: [{ source: {} }] }] }, /`from.source` must not be empty/],
  ['empty to', { rules: [{ to: [] }] }, /`to` must not be empty/],
  ['empty operation', { rules: [{ to: [{ operation: {} }] }] }, /`to.operation` must not be empty/],
  ['empty value', { rules: [{ from: [{ source: { principals: [''] } }] }] }, /empty value not allowed/],
  ['bad CIDR', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] }, /bad CIDR range/],
  ['bad IP', { rules: [{ from: [{ source: { notRemoteIpBlocks: ['256.1.1.1'] } }] }] }, /bad IP address/],
  ['port out of range', { rules: [{ to: [{ operation: { ports: ['65536'] } }] }] }, /bad port/],
  ['port zero', { rules: [{ to: [{ operation: { notPorts: ['0'] } }] }] }, /bad port/],
  ['port not a number', { rules: [{ to: [{ operation: { ports: ['http'] } }] }] }, /bad port/],
  ['path without slash', { rules: [{ to: [{ operation: { paths: ['admin'] } }] }] }, /must start with "\/"/],
  ['{**} not last', { rules: [{ to: [{ operation: { paths: ['/{**}/foo/{*}'] } }] }] }, /not the last operator/],
  ['text beside {*}', { rules: [{ to: [{ operation: { paths: ['/foo/{*}.txt'] } }] }] }, /beyond a supported path template/],
  ['* outside an operator', { rules: [{ to: [{ operation: { notPaths: ['/*/baz/{*}'] } }] }] }, /not a valid literal/],
  ['** outside an operator', { rules: [{ to: [{ operation: { paths: ['/**/baz/{*}'] } }] }] }, /not a valid literal/],
  ['stray brace', { rules: [{ to: [{ operation: { paths: ['/foo/{bar}'] } }] }] }, /beyond a supported path template/],
  ['when without values', { rules: [{ when: [{ key: 'source.ip' }] }] }, /at least one of `values` or `notValues`/],
  ['unknown when key', { rules: [{ when: [{ key: 'source.user', values: ['a'] }] }] }, /unknown attribute/],
  ['destination.namespace', { rules: [{ when: [{ key: 'destination.namespace', values: ['a'] }] }] }, /replaced by the metadata.namespace/],
  ['destination.labels', { rules: [{ when: [{ key: 'destination.labels[app]', values: ['a'] }] }] }, /replaced by the workload selector/],
  ['header key without brackets', { rules: [{ when: [{ key: 'request.headers', values: ['a'] }] }] }, /unknown attribute|bad key/],
  ['header key with empty name', { rules: [{ when: [{ key: 'request.headers[]', values: ['a'] }] }] }, /bad key/],
  ['bad source.ip value', { rules: [{ when: [{ key: 'source.ip', values: ['x'] }] }] }, /bad IP address/],
  ['bad destination.port value', { rules: [{ when: [{ key: 'destination.port', values: ['99999'] }] }] }, /bad port/],
  ['selector wildcard', { selector: { matchLabels: { app: '*' } } }, /wildcard is not supported/],
  ['selector and targetRefs', { selector: { matchLabels: { app: 'a' } }, targetRefs: [{ kind: 'Service', name: 'a' }] }, /only one of/],
  ['serviceAccounts with namespaces', { rules: [{ from: [{ source: { serviceAccounts: ['a'], namespaces: ['b'] } }] }] }, /cannot set serviceAccounts/],
  // pkg/config/security CheckTrustDomainValues / CheckWildcardValues, validation.go CUSTOM restrictions
  ['trustDomains: wildcard in the middle', { rules: [{ from: [{ source: { trustDomains: ['fo*-bar'] } }] }] }, /wildcard is only allowed at the start or end/],
  ['trustDomains: two wildcards', { rules: [{ from: [{ source: { notTrustDomains: ['fo*bar*'] } }] }] }, /at most one wildcard/],
  ['trustDomains: a path', { rules: [{ from: [{ source: { trustDomains: ['td/ns/a'] } }] }] }, /must not contain '\/'/],
  ['trustDomains: empty value', { rules: [{ from: [{ source: { trustDomains: [''] } }] }] }, /empty value not allowed/],
  ['source.trustDomain: wildcard in the middle', { rules: [{ when: [{ key: 'source.trustDomain', values: ['fo*-bar'] }] }] }, /wildcard is only allowed/],
  ['CUSTOM with trustDomains', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ from: [{ source: { trustDomains: ['td'] } }] }] }, /trustDomains is currently not supported with CUSTOM/],
  ['CUSTOM with source.trustDomain', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ when: [{ key: 'source.trustDomain', values: ['td'] }] }] }, /source.trustDomain is currently not supported/],
  ['serviceAccount with two slashes', { rules: [{ from: [{ source: { serviceAccounts: ['a/b/c'] } }] }] }, /expected format/],
];

describe('checkAuthorizationPolicy', () => {
  for (const [name, spec] of VALID) test(`valid: ${name}`, () => assert.deepEqual(issues(spec), []));
  for (const [name, spec, want] of INVALID) {
    test(`invalid: ${name}`, () => {
      const got = issues(spec);
      assert.ok(got.some((m) => want.test(m)), `expected ${String(want)} in ${JSON.stringify(got)}`);
    });
  }
  test('issues name the field path', () => {
    const [issue] = checkAuthorizationPolicy({ rules: [{ to: [{ operation: { ports: ['1', 'x'] } }] }] });
    assert.deepEqual(issue?.path, ['rules', 0, 'to', 0, 'operation', 'ports', 1]);
  });
});

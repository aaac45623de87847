/**
 * Trust domains in AuthorizationPolicy: the `trustDomains` / `notTrustDomains` source fields and the
 * `source.trustDomain` condition, and trust domain migration (MeshConfig `trustDomainAliases`). Rows come from
 * Istio's trust domain migration task, pilot/pkg/security/trustdomain/bundle_test.go and the builder testdata
 * (trust-domains-in.yaml, simple-policy-td-aliases-in.yaml, td-aliases-source-principal-in.yaml).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicySpec } from '../config/kinds/authorization-policy.js';
import { compileAuthorizationPolicies } from './engine.js';
import type { WorkloadScope } from './policy-scope.js';
import { expandTrustDomainAliases, replaceTrustDomainAliases } from './trust-domain-bundle.js';

describe('replaceTrustDomainAliases (bundle_test.go TestReplaceTrustDomainAliases)', () => {
  const rows: Array<[string, string[], string[], string[]]> = [
    ['no aliases (no change in trust domain)', ['cluster.local'], ['cluster.local/ns/foo/sa/bar'], ['cluster.local/ns/foo/sa/bar']],
    ['principal *', ['cluster.local'], ['*'], ['*']],
    ['principal with * trust domain', ['cluster.local'], ['*/ns/foo/sa/bar'], ['*/ns/foo/sa/bar']],
    ['one alias, one principal', ['td2', 'td1'], ['td1/ns/foo/sa/bar'], ['td2/ns/foo/sa/bar', 'td1/ns/foo/sa/bar']],
    ['one alias, two principals', ['td1', 'cluster.local'], ['cluster.local/ns/foo/sa/bar', 'cluster.local/ns/yyy/sa/zzz'], ['td1/ns/foo/sa/bar', 'cluster.local/ns/foo/sa/bar', 'td1/ns/yyy/sa/zzz', 'cluster.local/ns/yyy/sa/zzz']],
    ['one alias, principals with * as-is', ['td1', 'cluster.local'], ['*/ns/foo/sa/bar', '*sa/zzz', '*'], ['*/ns/foo/sa/bar', '*sa/zzz', '*']],
    ['two aliases, two principals', ['td2', 'td1', 'cluster.local'], ['cluster.local/ns/foo/sa/bar', 'td1/ns/yyy/sa/zzz'], ['td2/ns/foo/sa/bar', 'td1/ns/foo/sa/bar', 'cluster.local/ns/foo/sa/bar', 'td2/ns/yyy/sa/zzz', 'td1/ns/yyy/sa/zzz', 'cluster.local/ns/yyy/sa/zzz']],
    ['two aliases, * prefix in the trust domain', ['td2', 'foo-td1', 'cluster.local'], ['*-td1/ns/foo/sa/bar'], ['td2/ns/foo/sa/bar', '*-td1/ns/foo/sa/bar', 'cluster.local/ns/foo/sa/bar']],
    ['principal matches no trust domain', ['td1', 'td2'], ['some-td/ns/foo/sa/bar'], ['some-td/ns/foo/sa/bar']],
    ['principal matches one alias', ['td1', 'td2', 'some-td'], ['some-td/ns/foo/sa/bar'], ['td1/ns/foo/sa/bar', 'td2/ns/foo/sa/bar', 'some-td/ns/foo/sa/bar']],
    ['one principal matches one alias', ['new-td', 'td2', 'td3'], ['td1/ns/some-ns/sa/some-sa', 'td2/ns/foo/sa/bar'], ['td1/ns/some-ns/sa/some-sa', 'new-td/ns/foo/sa/bar', 'td2/ns/foo/sa/bar', 'td3/ns/foo/sa/bar']],
    ['empty trust domain', ['new-td', 'td2', 'td3'], ['/ns/some-ns/sa/some-sa'], ['/ns/some-ns/sa/some-sa']],
    ['no duplicated principals for a prefix', ['new-td', 'old-td'], ['*-td/ns/some-ns/sa/some-sa'], ['*-td/ns/some-ns/sa/some-sa']],
    // trust domain migration task, best practices: `cluster.local` points at the current domain and its aliases
    ['cluster.local when the domain is another', ['new-td', 'old-td'], ['cluster.local/ns/sleep-allow/sa/sleep'], ['new-td/ns/sleep-allow/sa/sleep', 'old-td/ns/sleep-allow/sa/sleep']],
    ['spiffe:// form is not a bare principal and is kept', ['td1', 'cluster.local'], ['spiffe://cluster.local/ns/foo/sa/bar'], ['spiffe://cluster.local/ns/foo/sa/bar']],
  ];
  for (const [name, bundle, principals, want] of rows) {
    test(name, () => assert.deepEqual(replaceTrustDomainAliases(bundle, principals), want));
  }
});

describe('expandTrustDomainAliases (model.go MigrateTrustDomain on source.trustDomain)', () => {
  test('a domain of the bundle stands for all of them, in bundle order, once', () => {
    assert.deepEqual(expandTrustDomainAliases(['new-td', 'old-td'], ['old-td', 'other']), ['new-td', 'old-td', 'other']);
    assert.deepEqual(expandTrustDomainAliases(['new-td', 'old-td'], ['new-td', 'old-td']), ['new-td', 'old-td']);
  });
  test('cluster.local is not special here, and wildcards are kept as written', () => {
    assert.deepEqual(expandTrustDomainAliases(['new-td'], ['cluster.local', '*-td']), ['cluster.local', '*-td']);
  });
});

const base = { rootNamespace: 'istio-system', workloadNamespace: 'default', workloadLabels: { app: 'httpbin' } };

function decide(spec: AuthorizationPolicySpec, principal: string | undefined, scope: WorkloadScope): string {
  const engine = compileAuthorizationPolicies([{ namespace: 'default', name: 'p', spec }], scope);
  return engine.evaluate({
    connection: { sourceIp: '10.0.0.1', destinationIp: '10.0.0.2', destinationPort: 8000, ...(principal ? { sourcePrincipal: principal } : {}) },
    http: { method: 'GET', host: 'httpbin', path: '/ip', headers: {} },
  }).decision;
}

const rules = (...r: NonNullable<AuthorizationPolicySpec['rules']>): AuthorizationPolicySpec => ({ rules: r });
const allowFrom = (source: Record<string, string[]>): AuthorizationPolicySpec => rules({ from: [{ source }] });

describe('trustDomains, notTrustDomains and source.trustDomain (generator.go srcTrustDomainGenerator)', () => {
  const scope: WorkloadScope = { ...base, trustDomain: 'cluster.local' };
  // trust-domains-in.yaml: from [{trustDomains: [cluster.local, another.local]}, {notTrustDomains: [bad*, untrusted]}]
  const testdata = rules({ from: [{ source: { trustDomains: ['cluster.local', 'another.local'] } }, { source: { notTrustDomains: ['bad*', 'untrusted'] } }] });
  const rows: Array<[string, AuthorizationPolicySpec, string | undefined, 'ALLOW' | 'DENY']> = [
    ['testdata: listed domain', testdata, 'another.local/ns/a/sa/b', 'ALLOW'],
    ['testdata: a domain not excluded', testdata, 'partner.example/ns/a/sa/b', 'ALLOW'],
    ['testdata: plaintext has no trust domain', testdata, undefined, 'ALLOW'],
    ['exact', allowFrom({ trustDomains: ['partner.example'] }), 'partner.example/ns/a/sa/b', 'ALLOW'],
    ['exact is not a prefix of a longer domain', allowFrom({ trustDomains: ['partner.example'] }), 'partner.example.evil/ns/a/sa/b', 'DENY'],
    ['exact is case-sensitive', allowFrom({ trustDomains: ['partner.example'] }), 'Partner.example/ns/a/sa/b', 'DENY'],
    ['* any authenticated peer', allowFrom({ trustDomains: ['*'] }), 'x/ns/a/sa/b', 'ALLOW'],
    ['* not plaintext', allowFrom({ trustDomains: ['*'] }), undefined, 'DENY'],
    ['prefix', allowFrom({ trustDomains: ['bad*'] }), 'bad-actor.example/ns/a/sa/b', 'ALLOW'],
    ['prefix stays inside the domain', allowFrom({ trustDomains: ['cluster*'] }), 'other/ns/cluster/sa/b', 'DENY'],
    ['suffix', allowFrom({ trustDomains: ['*.example'] }), 'partner.example/ns/a/sa/b', 'ALLOW'],
    ['suffix does not reach past the domain', allowFrom({ trustDomains: ['*sa'] }), 'td/ns/a/sa/b', 'DENY'],
    ['notTrustDomains excludes', allowFrom({ notTrustDomains: ['untrusted'] }), 'untrusted/ns/a/sa/b', 'DENY'],
    ['notTrustDomains prefix excludes', allowFrom({ notTrustDomains: ['bad*'] }), 'bad.example/ns/a/sa/b', 'DENY'],
    ['source.trustDomain condition', rules({ when: [{ key: 'source.trustDomain', values: ['partner.example'] }] }), 'partner.example/ns/a/sa/b', 'ALLOW'],
    ['source.trustDomain notValues', rules({ when: [{ key: 'source.trustDomain', notValues: ['*.example'] }] }), 'partner.example/ns/a/sa/b', 'DENY'],
    ['trustDomains AND serviceAccounts', allowFrom({ trustDomains: ['partner.example'], serviceAccounts: ['a/b'] }), 'cluster.local/ns/a/sa/b', 'DENY'],
  ];
  for (const [name, spec, principal, want] of rows) test(name, () => assert.equal(decide(spec, principal, scope), want));

  test('TCP: trust domains are not HTTP-only', () => {
    const engine = compileAuthorizationPolicies([{ namespace: 'default', name: 'p', spec: allowFrom({ trustDomains: ['partner.example'] }) }], scope);
    const tcp = (p: string) => engine.evaluate({ connection: { sourceIp: '10.0.0.1', destinationIp: '10.0.0.2', destinationPort: 9000, sourcePrincipal: p } }).decision;
    assert.deepEqual([tcp('partner.example/ns/a/sa/b'), tcp('cluster.local/ns/a/sa/b')], ['ALLOW', 'DENY']);
  });
});

describe('trust domain migration in the engine (authz-td-migration task)', () => {
  // The task's policy: only sleep in sleep-allow, by its old identity.
  const oldTd = allowFrom({ principals: ['old-td/ns/sleep-allow/sa/sleep'] });
  const local = allowFrom({ principals: ['cluster.local/ns/sleep-allow/sa/sleep'] });
  const migrated: WorkloadScope = { ...base, trustDomain: 'new-td', trustDomainAliases: ['old-td'] };
  const moved: WorkloadScope = { ...base, trustDomain: 'new-td' };
  const rows: Array<[string, AuthorizationPolicySpec, WorkloadScope, string, 'ALLOW' | 'DENY']> = [
    ['before: old-td policy, old-td peer', oldTd, { ...base, trustDomain: 'old-td' }, 'old-td/ns/sleep-allow/sa/sleep', 'ALLOW'],
    ['before: sleep in default is denied', oldTd, { ...base, trustDomain: 'old-td' }, 'old-td/ns/default/sa/sleep', 'DENY'],
    ['new-td without aliases: the old policy denies the new identity', oldTd, moved, 'new-td/ns/sleep-allow/sa/sleep', 'DENY'],
    ['new-td with alias old-td: the old policy allows the new identity', oldTd, migrated, 'new-td/ns/sleep-allow/sa/sleep', 'ALLOW'],
    ['new-td with alias old-td: and still the old identity', oldTd, migrated, 'old-td/ns/sleep-allow/sa/sleep', 'ALLOW'],
    ['new-td with alias old-td: sleep in default is still denied', oldTd, migrated, 'new-td/ns/default/sa/sleep', 'DENY'],
    ['best practice: cluster.local means the current domain', local, moved, 'new-td/ns/sleep-allow/sa/sleep', 'ALLOW'],
    ['best practice: cluster.local means the aliases too', local, migrated, 'old-td/ns/sleep-allow/sa/sleep', 'ALLOW'],
    ['cluster.local is not itself trusted when the domain is another', local, moved, 'cluster.local/ns/sleep-allow/sa/sleep', 'DENY'],
    ['a domain outside the bundle stays as written', allowFrom({ principals: ['partner/ns/sleep-allow/sa/sleep'] }), migrated, 'new-td/ns/sleep-allow/sa/sleep', 'DENY'],
    ['notPrincipals are migrated too', rules({ from: [{ source: { notPrincipals: ['cluster.local/ns/sleep-allow/sa/sleep'] } }] }), migrated, 'old-td/ns/sleep-allow/sa/sleep', 'DENY'],
    ['source.principal condition is migrated', rules({ when: [{ key: 'source.principal', values: ['old-td/ns/sleep-allow/sa/sleep'] }] }), migrated, 'new-td/ns/sleep-allow/sa/sleep', 'ALLOW'],
    ['trustDomains naming an alias covers the current domain', allowFrom({ trustDomains: ['old-td'] }), migrated, 'new-td/ns/a/sa/b', 'ALLOW'],
    ['source.trustDomain naming the domain covers the alias', rules({ when: [{ key: 'source.trustDomain', values: ['new-td'] }] }), migrated, 'old-td/ns/a/sa/b', 'ALLOW'],
    // td-aliases-source-principal-in.yaml: `*-td/...` kept as written, and the alias outside it added
    ['prefix trust domain covers the bundle domains it matches', rules({ when: [{ key: 'source.principal', values: ['*-td/ns/foo/sa/prefix-td'] }] }), { ...base, trustDomain: 'new-td', trustDomainAliases: ['old-td', 'some-trustdomain'] }, 'some-trustdomain/ns/foo/sa/prefix-td', 'ALLOW'],
    // namespaces and serviceAccounts never name a trust domain (regex `.*/ns/<ns>/.*`): any domain matches
    ['namespaces match any trust domain', allowFrom({ namespaces: ['sleep-allow'] }), moved, 'elsewhere/ns/sleep-allow/sa/sleep', 'ALLOW'],
  ];
  for (const [name, spec, scope, principal, want] of rows) test(name, () => assert.equal(decide(spec, principal, scope), want));
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicySpec } from '../config/kinds/authorization-policy.js';
import { compileAuthorizationPolicies } from './engine.js';
import { listApplicablePolicies } from './policy-scope.js';
import type { AuthzPolicyInput, WorkloadScope } from './policy-scope.js';
import type { AuthzRequest } from './types.js';

const scope: WorkloadScope = { rootNamespace: 'istio-system', workloadNamespace: 'foo', workloadLabels: { app: 'httpbin', version: 'v1' } };

interface Req {
  principal?: string;
  ip?: string;
  remoteIp?: string;
  dstIp?: string;
  port?: number;
  sni?: string;
  method?: string;
  host?: string;
  path?: string;
  headers?: Record<string, string>;
  auth?: AuthzRequest['auth'];
  tcp?: boolean;
}

function request(r: Req): AuthzRequest {
  return {
    connection: {
      sourceIp: r.ip ?? '10.0.0.1',
      ...(r.remoteIp ? { remoteIp: r.remoteIp } : {}),
      destinationIp: r.dstIp ?? '10.0.0.2',
      destinationPort: r.port ?? 8000,
      ...(r.sni ? { sni: r.sni } : {}),
      ...(r.principal ? { sourcePrincipal: r.principal } : {}),
    },
    ...(r.tcp ? {} : { http: { method: r.method ?? 'GET', host: r.host ?? 'httpbin.foo', path: r.path ?? '/', headers: r.headers ?? {} } }),
    ...(r.auth ? { auth: r.auth } : {}),
  };
}

function decide(spec: AuthorizationPolicySpec, r: Req): string {
  const engine = compileAuthorizationPolicies([{ namespace: 'foo', name: 'p', spec }], scope);
  return engine.evaluate(request(r)).decision;
}

const allow = (rule: NonNullable<AuthorizationPolicySpec['rules']>[number]): AuthorizationPolicySpec => ({ action: 'ALLOW', rules: [rule] });
const SLEEP = 'cluster.local/ns/sleep/sa/sleep';
const jwt = (claims: Record<string, unknown>): NonNullable<AuthzRequest['auth']> => ({
  principal: `${String(claims.iss)}/${String(claims.sub)}`,
  audiences: typeof claims.aud === 'string' ? [claims.aud] : ((claims.aud as string[] | undefined) ?? []),
  ...(typeof claims.azp === 'string' ? { presenter: claims.azp } : {}),
  claims,
});

// Each row: [name, spec, request, expected]. Comments name the Istio doc or test the row comes from.
const FIELD_ROWS: Array<[string, AuthorizationPolicySpec, Req, 'ALLOW' | 'DENY']> = [
  // authorization-policy reference: "spec: {}" allows nothing (allow-nothing example)
  ['allow-nothing denies', {}, {}, 'DENY'],
  // reference: allow-all example, `rules: [{}]`
  ['allow-all allows', { rules: [{}] }, {}, 'ALLOW'],
  // reference: deny-all example, DENY with `rules: [{}]`
  ['deny-all denies', { action: 'DENY', rules: [{}] }, {}, 'DENY'],
  // reference Source.principals: exact match on the SPIFFE id without scheme
  ['principals exact', allow({ from: [{ source: { principals: [SLEEP] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['principals exact, other sa', allow({ from: [{ source: { principals: [SLEEP] } }] }), { principal: 'cluster.local/ns/sleep/sa/other' }, 'DENY'],
  ['principals, plaintext never matches', allow({ from: [{ source: { principals: ['*'] } }] }), {}, 'DENY'],
  // builder testdata all-fields: "*" presence, prefix and suffix forms
  ['principals presence', allow({ from: [{ source: { principals: ['*'] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['principals prefix', allow({ from: [{ source: { principals: ['cluster.local/ns/sleep/*'] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['principals suffix', allow({ from: [{ source: { principals: ['*/sa/sleep'] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['notPrincipals excludes', allow({ from: [{ source: { notPrincipals: [SLEEP] } }] }), { principal: SLEEP }, 'DENY'],
  ['notPrincipals admits others', allow({ from: [{ source: { notPrincipals: [SLEEP] } }] }), { principal: 'cluster.local/ns/a/sa/b' }, 'ALLOW'],
  // reference: notPrincipals ["*"] is the documented way to require mTLS ... plaintext has no principal
  ['notPrincipals * matches plaintext (DENY plaintext)', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] }, {}, 'DENY'],
  ['notPrincipals * spares mTLS', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] }, { principal: SLEEP }, 'ALLOW'],
  // generator.go srcNamespaceGenerator: `.*/ns/<ns>/.*` on the principal
  ['namespaces exact', allow({ from: [{ source: { namespaces: ['sleep'] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['namespaces other', allow({ from: [{ source: { namespaces: ['test'] } }] }), { principal: SLEEP }, 'DENY'],
  ['namespaces prefix', allow({ from: [{ source: { namespaces: ['sle*'] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['namespaces plaintext', allow({ from: [{ source: { namespaces: ['sleep'] } }] }), {}, 'DENY'],
  ['notNamespaces', allow({ from: [{ source: { notNamespaces: ['sleep'] } }] }), { principal: SLEEP }, 'DENY'],
  // API serviceAccounts: `ns/sa`, bare name defaults to the policy namespace
  ['serviceAccounts ns/sa', allow({ from: [{ source: { serviceAccounts: ['sleep/sleep'] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['serviceAccounts bare name uses policy ns', allow({ from: [{ source: { serviceAccounts: ['sleep'] } }] }), { principal: SLEEP }, 'DENY'],
  ['serviceAccounts no suffix confusion', allow({ from: [{ source: { serviceAccounts: ['sleep/sle'] } }] }), { principal: SLEEP }, 'DENY'],
  // reference Source.ipBlocks: single IP and CIDR, IPv6
  ['ipBlocks CIDR', allow({ from: [{ source: { ipBlocks: ['10.0.0.0/24'] } }] }), { ip: '10.0.0.7' }, 'ALLOW'],
  ['ipBlocks outside', allow({ from: [{ source: { ipBlocks: ['10.0.1.0/24'] } }] }), { ip: '10.0.0.7' }, 'DENY'],
  ['ipBlocks single ip', allow({ from: [{ source: { ipBlocks: ['10.0.0.7'] } }] }), { ip: '10.0.0.7' }, 'ALLOW'],
  ['ipBlocks IPv6', allow({ from: [{ source: { ipBlocks: ['2001:db8::/32'] } }] }), { ip: '2001:db8::1' }, 'ALLOW'],
  ['ipBlocks IPv6 vs IPv4', allow({ from: [{ source: { ipBlocks: ['::/0'] } }] }), { ip: '10.0.0.7' }, 'DENY'],
  ['notIpBlocks', allow({ from: [{ source: { notIpBlocks: ['10.0.0.0/8'] } }] }), { ip: '10.0.0.7' }, 'DENY'],
  // reference remoteIpBlocks: X-Forwarded-For / PROXY address, not the direct peer
  ['remoteIpBlocks uses remote ip', allow({ from: [{ source: { remoteIpBlocks: ['1.2.3.4'] } }] }), { ip: '10.0.0.1', remoteIp: '1.2.3.4' }, 'ALLOW'],
  ['ipBlocks ignores remote ip', allow({ from: [{ source: { ipBlocks: ['1.2.3.4'] } }] }), { ip: '10.0.0.1', remoteIp: '1.2.3.4' }, 'DENY'],
  ['notRemoteIpBlocks', allow({ from: [{ source: { notRemoteIpBlocks: ['1.2.3.0/24'] } }] }), { remoteIp: '1.2.3.4' }, 'DENY'],
  // reference Source.requestPrincipals: `iss/sub`
  ['requestPrincipals exact', allow({ from: [{ source: { requestPrincipals: ['https://issuer.example/alice'] } }] }), { auth: jwt({ iss: 'https://issuer.example', sub: 'alice' }) }, 'ALLOW'],
  ['requestPrincipals * needs a token', allow({ from: [{ source: { requestPrincipals: ['*'] } }] }), {}, 'DENY'],
  ['requestPrincipals * with token', allow({ from: [{ source: { requestPrincipals: ['*'] } }] }), { auth: jwt({ iss: 'i', sub: 's' }) }, 'ALLOW'],
  ['requestPrincipals issuer/*', allow({ from: [{ source: { requestPrincipals: ['https://issuer.example/*'] } }] }), { auth: jwt({ iss: 'https://issuer.example', sub: 'bob' }) }, 'ALLOW'],
  ['requestPrincipals */sub', allow({ from: [{ source: { requestPrincipals: ['*/alice'] } }] }), { auth: jwt({ iss: 'https://x', sub: 'alice' }) }, 'ALLOW'],
  ['notRequestPrincipals *: no token', { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }] }, {}, 'DENY'],
  // reference Operation.hosts: case-insensitive; `example.com` does not match `example.com:80` (use `example.com:*`)
  ['hosts exact', allow({ to: [{ operation: { hosts: ['httpbin.foo'] } }] }), { host: 'httpbin.foo' }, 'ALLOW'],
  ['hosts case-insensitive', allow({ to: [{ operation: { hosts: ['httpbin.foo'] } }] }), { host: 'HttpBin.Foo' }, 'ALLOW'],
  ['hosts with port not matched by bare host', allow({ to: [{ operation: { hosts: ['httpbin.foo'] } }] }), { host: 'httpbin.foo:8000' }, 'DENY'],
  ['hosts host:* matches any port', allow({ to: [{ operation: { hosts: ['httpbin.foo:*'] } }] }), { host: 'httpbin.foo:8000' }, 'ALLOW'],
  ['hosts suffix', allow({ to: [{ operation: { hosts: ['*.foo'] } }] }), { host: 'httpbin.foo' }, 'ALLOW'],
  ['notHosts', allow({ to: [{ operation: { notHosts: ['httpbin.foo'] } }] }), { host: 'HTTPBIN.FOO' }, 'DENY'],
  // reference Operation.ports / notPorts
  ['ports', allow({ to: [{ operation: { ports: ['8000'] } }] }), { port: 8000 }, 'ALLOW'],
  ['ports other', allow({ to: [{ operation: { ports: ['9000'] } }] }), { port: 8000 }, 'DENY'],
  ['notPorts', allow({ to: [{ operation: { notPorts: ['8000'] } }] }), { port: 8000 }, 'DENY'],
  // reference Operation.methods: case-sensitive header match on :method
  ['methods', allow({ to: [{ operation: { methods: ['GET', 'HEAD'] } }] }), { method: 'HEAD' }, 'ALLOW'],
  ['methods case-sensitive', allow({ to: [{ operation: { methods: ['GET'] } }] }), { method: 'get' }, 'DENY'],
  ['notMethods', allow({ to: [{ operation: { notMethods: ['DELETE'] } }] }), { method: 'DELETE' }, 'DENY'],
  // reference Operation.paths: exact, prefix, suffix, presence
  ['paths exact', allow({ to: [{ operation: { paths: ['/headers'] } }] }), { path: '/headers' }, 'ALLOW'],
  ['paths exact no prefix', allow({ to: [{ operation: { paths: ['/headers'] } }] }), { path: '/headers/x' }, 'DENY'],
  ['paths prefix', allow({ to: [{ operation: { paths: ['/info*'] } }] }), { path: '/info/x' }, 'ALLOW'],
  ['paths suffix', allow({ to: [{ operation: { paths: ['*.html'] } }] }), { path: '/a/b.html' }, 'ALLOW'],
  ['paths case-sensitive', allow({ to: [{ operation: { paths: ['/admin'] } }] }), { path: '/ADMIN' }, 'DENY'],
  ['notPaths', allow({ to: [{ operation: { notPaths: ['/admin*'] } }] }), { path: '/admin/x' }, 'DENY'],
  // reference Operation.paths templates: `/foo/{*}` matches /foo/bar but not /foo/bar/baz
  ['{*} one segment', allow({ to: [{ operation: { paths: ['/foo/{*}'] } }] }), { path: '/foo/bar' }, 'ALLOW'],
  ['{*} not two segments', allow({ to: [{ operation: { paths: ['/foo/{*}'] } }] }), { path: '/foo/bar/baz' }, 'DENY'],
  ['{*} not empty', allow({ to: [{ operation: { paths: ['/foo/{*}'] } }] }), { path: '/foo/' }, 'DENY'],
  // `/foo/{**}/` matches /foo/bar/, /foo/bar/baz.txt/ and /foo// but not /foo/bar
  ['{**} one', allow({ to: [{ operation: { paths: ['/foo/{**}/'] } }] }), { path: '/foo/bar/' }, 'ALLOW'],
  ['{**} many', allow({ to: [{ operation: { paths: ['/foo/{**}/'] } }] }), { path: '/foo/bar/baz.txt/' }, 'ALLOW'],
  ['{**} zero', allow({ to: [{ operation: { paths: ['/foo/{**}/'] } }] }), { path: '/foo//' }, 'ALLOW'],
  ['{**} needs trailing slash', allow({ to: [{ operation: { paths: ['/foo/{**}/'] } }] }), { path: '/foo/bar' }, 'DENY'],
  // `/foo/{*}/bar/{**}` matches /foo/buzz/bar/ and /foo/buzz/bar/baz
  ['{*} then {**}', allow({ to: [{ operation: { paths: ['/foo/{*}/bar/{**}'] } }] }), { path: '/foo/buzz/bar/baz' }, 'ALLOW'],
  ['{*} then {**} empty tail', allow({ to: [{ operation: { paths: ['/foo/{*}/bar/{**}'] } }] }), { path: '/foo/buzz/bar/' }, 'ALLOW'],
  // conditions reference: request.headers
  ['header exact', allow({ when: [{ key: 'request.headers[X-Token]', values: ['admin'] }] }), { headers: { 'x-token': 'admin' } }, 'ALLOW'],
  ['header absent', allow({ when: [{ key: 'request.headers[X-Token]', values: ['admin'] }] }), {}, 'DENY'],
  ['header presence', allow({ when: [{ key: 'request.headers[x-token]', values: ['*'] }] }), { headers: { 'x-token': '' } }, 'ALLOW'],
  ['header notValues', allow({ when: [{ key: 'request.headers[x-token]', notValues: ['guest'] }] }), { headers: { 'x-token': 'guest' } }, 'DENY'],
  ['header values and notValues', allow({ when: [{ key: 'request.headers[x-token]', values: ['a*'], notValues: ['ab'] }] }), { headers: { 'x-token': 'ab' } }, 'DENY'],
  // conditions: source.ip, remote.ip, destination.ip, destination.port, connection.sni
  ['source.ip', allow({ when: [{ key: 'source.ip', values: ['10.0.0.0/16'] }] }), { ip: '10.0.3.3' }, 'ALLOW'],
  ['remote.ip', allow({ when: [{ key: 'remote.ip', values: ['1.2.3.4'] }] }), { remoteIp: '1.2.3.4' }, 'ALLOW'],
  ['remote.ip defaults to peer', allow({ when: [{ key: 'remote.ip', values: ['10.0.0.1'] }] }), {}, 'ALLOW'],
  ['destination.ip', allow({ when: [{ key: 'destination.ip', values: ['10.0.0.2'] }] }), {}, 'ALLOW'],
  ['destination.port', allow({ when: [{ key: 'destination.port', values: ['8000'] }] }), { port: 8000 }, 'ALLOW'],
  ['destination.port notValues', allow({ when: [{ key: 'destination.port', notValues: ['8000'] }] }), { port: 8000 }, 'DENY'],
  ['connection.sni', allow({ when: [{ key: 'connection.sni', values: ['*.foo.svc.cluster.local'] }] }), { sni: 'httpbin.foo.svc.cluster.local' }, 'ALLOW'],
  ['connection.sni absent', allow({ when: [{ key: 'connection.sni', values: ['*'] }] }), {}, 'DENY'],
  // conditions: source.namespace, source.principal
  ['source.namespace', allow({ when: [{ key: 'source.namespace', values: ['sleep'] }] }), { principal: SLEEP }, 'ALLOW'],
  ['source.principal', allow({ when: [{ key: 'source.principal', values: [SLEEP] }] }), { principal: SLEEP }, 'ALLOW'],
  // conditions: request.auth.*
  ['request.auth.principal', allow({ when: [{ key: 'request.auth.principal', values: ['https://i/alice'] }] }), { auth: jwt({ iss: 'https://i', sub: 'alice' }) }, 'ALLOW'],
  ['request.auth.audiences', allow({ when: [{ key: 'request.auth.audiences', values: ['api'] }] }), { auth: jwt({ iss: 'i', sub: 's', aud: ['web', 'api'] }) }, 'ALLOW'],
  ['request.auth.audiences miss', allow({ when: [{ key: 'request.auth.audiences', values: ['api'] }] }), { auth: jwt({ iss: 'i', sub: 's', aud: 'web' }) }, 'DENY'],
  ['request.auth.presenter', allow({ when: [{ key: 'request.auth.presenter', values: ['web'] }] }), { auth: jwt({ iss: 'i', sub: 's', azp: 'web' }) }, 'ALLOW'],
  ['claims string', allow({ when: [{ key: 'request.auth.claims[iss]', values: ['https://accounts.google.com'] }] }), { auth: jwt({ iss: 'https://accounts.google.com', sub: 's' }) }, 'ALLOW'],
  ['claims list', allow({ when: [{ key: 'request.auth.claims[groups]', values: ['admin'] }] }), { auth: jwt({ iss: 'i', sub: 's', groups: ['dev', 'admin'] }) }, 'ALLOW'],
  ['claims nested', allow({ when: [{ key: 'request.auth.claims[realm][role]', values: ['admin'] }] }), { auth: jwt({ iss: 'i', sub: 's', realm: { role: ['admin'] } }) }, 'ALLOW'],
  ['claims nested miss', allow({ when: [{ key: 'request.auth.claims[realm][role]', values: ['admin'] }] }), { auth: jwt({ iss: 'i', sub: 's', realm: 'admin' }) }, 'DENY'],
  ['claims scope space-delimited', allow({ when: [{ key: 'request.auth.claims[scope]', values: ['write'] }] }), { auth: jwt({ iss: 'i', sub: 's', scope: 'read write' }) }, 'ALLOW'],
  ['claims no token', allow({ when: [{ key: 'request.auth.claims[groups]', values: ['admin'] }] }), {}, 'DENY'],
  ['claims notValues no token', allow({ when: [{ key: 'request.auth.claims[groups]', notValues: ['admin'] }] }), {}, 'ALLOW'],
  // experimental.envoy.filters.*: accepted; weft has no Envoy filter metadata, so values never match
  ['envoy filter metadata values', allow({ when: [{ key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }] }), {}, 'DENY'],
  // reference: from, to and when are ANDed; entries inside a list are ORed
  ['AND of from and to', allow({ from: [{ source: { principals: [SLEEP] } }], to: [{ operation: { methods: ['GET'] } }] }), { principal: SLEEP, method: 'POST' }, 'DENY'],
  ['OR of from entries', allow({ from: [{ source: { principals: ['x'] } }, { source: { namespaces: ['sleep'] } }] }), { principal: SLEEP }, 'ALLOW'],
  ['AND inside one source', allow({ from: [{ source: { namespaces: ['sleep'], ipBlocks: ['10.9.0.0/16'] } }] }), { principal: SLEEP }, 'DENY'],
  ['OR of to entries', allow({ to: [{ operation: { methods: ['GET'], paths: ['/info*'] } }, { operation: { methods: ['POST'], paths: ['/data'] } }] }), { method: 'POST', path: '/data' }, 'ALLOW'],
  ['OR of to entries, crossed', allow({ to: [{ operation: { methods: ['GET'], paths: ['/info*'] } }, { operation: { methods: ['POST'], paths: ['/data'] } }] }), { method: 'POST', path: '/info' }, 'DENY'],
];

describe('AuthorizationPolicy fields and operators', () => {
  for (const [name, spec, r, want] of FIELD_ROWS) {
    test(name, () => assert.equal(decide(spec, r), want));
  }
});

// docs/ops/configuration/security/authz-tcp (TCP traffic) and builder testdata *-HTTP-for-TCP-filter-*
const TCP_ROWS: Array<[string, AuthorizationPolicySpec, Req, 'ALLOW' | 'DENY']> = [
  ['ALLOW with ports matches TCP', allow({ to: [{ operation: { ports: ['9000'] } }] }), { tcp: true, port: 9000 }, 'ALLOW'],
  ['ALLOW with methods never matches TCP', allow({ to: [{ operation: { methods: ['GET'], ports: ['9000'] } }] }), { tcp: true, port: 9000 }, 'DENY'],
  ['ALLOW with requestPrincipals never matches TCP', allow({ from: [{ source: { requestPrincipals: ['*'] } }] }), { tcp: true }, 'DENY'],
  ['ALLOW with header condition never matches TCP', allow({ when: [{ key: 'request.headers[x]', values: ['y'] }] }), { tcp: true }, 'DENY'],
  ['DENY with only HTTP fields denies all TCP', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }, { tcp: true }, 'DENY'],
  ['DENY drops HTTP fields, keeps ports', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'], ports: ['9000'] } }] }] }, { tcp: true, port: 9001 }, 'ALLOW'],
  ['DENY drops HTTP fields, port matches', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'], ports: ['9000'] } }] }] }, { tcp: true, port: 9000 }, 'DENY'],
  ['DENY drops notRequestPrincipals, keeps namespaces', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['dev'], notRequestPrincipals: ['*'] } }] }] }, { tcp: true, principal: SLEEP }, 'ALLOW'],
  ['same DENY over HTTP with a token', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }, { method: 'POST' }, 'ALLOW'],
];

describe('TCP vs HTTP', () => {
  for (const [name, spec, r, want] of TCP_ROWS) {
    test(name, () => assert.equal(decide(spec, r), want));
  }
});

function engineOf(policies: AuthzPolicyInput[], s: WorkloadScope = scope) {
  return compileAuthorizationPolicies(policies, s);
}

describe('action precedence', () => {
  // reference: CUSTOM, then DENY, then ALLOW
  const denyAdmin: AuthzPolicyInput = { namespace: 'foo', name: 'deny-admin', spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] } };
  const allowGet: AuthzPolicyInput = { namespace: 'foo', name: 'allow-get', spec: { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] } };
  const custom: AuthzPolicyInput = { namespace: 'foo', name: 'ext', spec: { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/custom*'] } }] }] } };
  const audit: AuthzPolicyInput = { namespace: 'foo', name: 'audit-all', spec: { action: 'AUDIT', rules: [{}] } };
  const e = engineOf([allowGet, audit, denyAdmin, custom]);

  test('DENY wins over ALLOW', () => {
    const d = e.evaluate(request({ path: '/admin/x' }));
    assert.deepEqual([d.decision, d.policy, d.rule], ['DENY', 'foo/deny-admin', 0]);
  });
  test('ALLOW policy present: only matching requests', () => {
    assert.deepEqual([e.evaluate(request({ method: 'GET' })).decision, e.evaluate(request({ method: 'PUT' })).decision], ['ALLOW', 'DENY']);
    assert.equal(e.evaluate(request({ method: 'PUT' })).policy, null);
  });
  test('CUSTOM first, with the local verdict after the provider', () => {
    const d = e.evaluate(request({ path: '/custom/x', method: 'PUT' }));
    assert.equal(d.decision, 'CUSTOM');
    assert.equal(d.provider, 'opa');
    assert.deepEqual(d.afterCustom, { decision: 'DENY', policy: null, rule: null });
  });
  test('AUDIT only marks', () => {
    const d = e.evaluate(request({ method: 'GET' }));
    assert.equal(d.decision, 'ALLOW');
    assert.equal(d.audit, true);
    assert.equal(d.auditPolicy, 'foo/audit-all');
    assert.equal(engineOf([audit]).evaluate(request({})).decision, 'ALLOW');
  });
  test('no ALLOW policy: allowed unless denied', () => {
    const d = engineOf([denyAdmin]).evaluate(request({ path: '/x' }));
    assert.deepEqual([d.decision, d.policy], ['ALLOW', null]);
  });
  test('two CUSTOM providers on one workload deny what they match (builder testdata custom-bad-multiple-providers)', () => {
    const other: AuthzPolicyInput = { namespace: 'foo', name: 'ext2', spec: { action: 'CUSTOM', provider: { name: 'other' }, rules: [{}] } };
    assert.equal(engineOf([custom, other]).evaluate(request({ path: '/x' })).decision, 'DENY');
  });
  test('root namespace DENY is reported before a namespace DENY', () => {
    const rootDeny: AuthzPolicyInput = { namespace: 'istio-system', name: 'zz', spec: { action: 'DENY', rules: [{}] } };
    const nsDeny: AuthzPolicyInput = { namespace: 'foo', name: 'aa', spec: { action: 'DENY', rules: [{}] } };
    assert.equal(engineOf([nsDeny, rootDeny]).evaluate(request({})).policy, 'istio-system/zz');
  });
});

describe('scope', () => {
  const p = (namespace: string, name: string, matchLabels?: Record<string, string>): AuthzPolicyInput => ({
    namespace,
    name,
    spec: { action: 'DENY', rules: [{}], ...(matchLabels ? { selector: { matchLabels } } : {}) },
  });
  // reference: selector → matching workloads; no selector → the namespace; root namespace → the mesh
  const rows: Array<[string, AuthzPolicyInput, boolean]> = [
    ['selector matches', p('foo', 'a', { app: 'httpbin' }), true],
    ['selector subset', p('foo', 'a', { app: 'httpbin', version: 'v1' }), true],
    ['selector mismatch', p('foo', 'a', { app: 'other' }), false],
    ['namespace-wide', p('foo', 'a'), true],
    ['other namespace', p('bar', 'a'), false],
    ['other namespace with matching selector', p('bar', 'a', { app: 'httpbin' }), false],
    ['root namespace, mesh-wide', p('istio-system', 'a'), true],
    ['root namespace with selector applies across namespaces', p('istio-system', 'a', { app: 'httpbin' }), true],
    ['root namespace selector mismatch', p('istio-system', 'a', { app: 'x' }), false],
  ];
  for (const [name, policy, applies] of rows) {
    test(name, () => assert.equal(engineOf([policy]).evaluate(request({})).decision, applies ? 'DENY' : 'ALLOW'));
  }
  test('targetRefs are not applied to a sidecar, with a note', () => {
    const e = engineOf([{ namespace: 'foo', name: 't', spec: { action: 'DENY', targetRefs: [{ kind: 'Service', name: 'httpbin' }], rules: [{}] } }]);
    assert.equal(e.evaluate(request({})).decision, 'ALLOW');
    assert.equal(e.notes.length, 1);
  });
  test('listApplicablePolicies in evaluation order', () => {
    const list = listApplicablePolicies(
      [
        { namespace: 'foo', name: 'allow', spec: { rules: [{}] } },
        { namespace: 'foo', name: 'deny', spec: { action: 'DENY', rules: [{}] } },
        { namespace: 'foo', name: 'ext', spec: { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] } },
        { namespace: 'istio-system', name: 'root', spec: { action: 'DENY', rules: [{}] }, annotations: { 'istio.io/dry-run': 'true' } },
        { namespace: 'bar', name: 'elsewhere', spec: {} },
      ],
      scope,
    );
    assert.deepEqual(list.map((x) => [x.policy, x.action, x.dryRun, x.reach]), [
      ['foo/ext', 'CUSTOM', false, 'namespace'],
      ['istio-system/root', 'DENY', true, 'mesh'],
      ['foo/deny', 'DENY', false, 'namespace'],
      ['foo/allow', 'ALLOW', false, 'namespace'],
    ]);
  });
});

describe('dry-run (istio.io/dry-run annotation; tasks/security/authorization/authz-dry-run)', () => {
  const dry = { 'istio.io/dry-run': 'true' };
  test('dry-run DENY records but does not deny', () => {
    const e = engineOf([{ namespace: 'foo', name: 'deny-path-headers', annotations: dry, spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/headers'] } }] }] } }]);
    const d = e.evaluate(request({ path: '/headers' }));
    assert.equal(d.decision, 'ALLOW');
    assert.deepEqual(d.dryRun, [{ policy: 'foo/deny-path-headers', rule: 0, action: 'DENY', wouldMatch: true, wouldDeny: true }]);
    assert.equal(e.evaluate(request({ path: '/ip' })).dryRun[0]?.wouldDeny, false);
  });
  test('dry-run ALLOW: a request no dry-run ALLOW matches would be denied; enforcement unchanged', () => {
    const e = engineOf([{ namespace: 'foo', name: 'allow-get', annotations: dry, spec: { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] } }]);
    const d = e.evaluate(request({ method: 'POST' }));
    assert.equal(d.decision, 'ALLOW');
    assert.deepEqual(d.dryRun, [{ policy: 'foo/allow-get', rule: null, action: 'ALLOW', wouldMatch: false, wouldDeny: true }]);
    assert.equal(e.evaluate(request({ method: 'GET' })).dryRun[0]?.wouldDeny, false);
  });
  test('dry-run beside enforced policies', () => {
    const e = engineOf([
      { namespace: 'foo', name: 'enforced', spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] } },
      { namespace: 'foo', name: 'shadow', annotations: { 'istio.io/dry-run': 'True' }, spec: { action: 'DENY', rules: [{}] } },
      { namespace: 'foo', name: 'shadow-custom', annotations: dry, spec: { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] } },
      { namespace: 'foo', name: 'not-dry', annotations: { 'istio.io/dry-run': 'yes' }, spec: { action: 'AUDIT', rules: [{}] } },
    ]);
    const d = e.evaluate(request({ path: '/ok' }));
    assert.equal(d.decision, 'ALLOW');
    assert.equal(d.audit, true);
    assert.deepEqual(d.dryRun.map((x) => [x.policy, x.wouldMatch, x.wouldDeny]), [['foo/shadow-custom', true, false], ['foo/shadow', true, true]]);
    assert.equal(e.evaluate(request({ path: '/admin' })).decision, 'DENY');
  });
});

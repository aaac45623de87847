import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../errors.js';
import { compileAuthorizationPolicies } from './engine.js';
import { formatDecision } from './format-decision.js';
import { parseRequestFile } from './request-file.js';

const FULL = `
destination: { namespace: foo, labels: { app: httpbin }, port: 8000, ip: 10.0.0.2 }
source: { principal: cluster.local/ns/sleep/sa/sleep, ip: 10.0.0.1, remoteIp: 1.2.3.4 }
connection: { sni: httpbin.foo.svc.cluster.local }
request: { method: GET, host: httpbin.foo, path: "/public/../admin?x=1", headers: { X-Token: admin } }
auth: { principal: "https://issuer.example/alice", audiences: [api], presenter: web, claims: { groups: [admin] } }
`;

describe('parseRequestFile', () => {
  test('parses every section and normalises the path like the proxy', () => {
    const r = parseRequestFile(FULL);
    assert.equal(r.workloadNamespace, 'foo');
    assert.deepEqual(r.workloadLabels, { app: 'httpbin' });
    assert.deepEqual(r.request.http, { method: 'GET', host: 'httpbin.foo', path: '/admin', headers: { 'x-token': 'admin' } });
    assert.equal(r.request.connection.sourcePrincipal, 'cluster.local/ns/sleep/sa/sleep');
    assert.equal(r.request.connection.remoteIp, '1.2.3.4');
    assert.equal(r.request.connection.sni, 'httpbin.foo.svc.cluster.local');
    assert.deepEqual(r.request.auth?.claims, { groups: ['admin'] });
  });
  test('no request section is TCP; no principal is plaintext', () => {
    const r = parseRequestFile('destination: { namespace: foo, port: 3306 }\nsource: { ip: 10.0.0.1 }\n');
    assert.equal(r.request.http, undefined);
    assert.equal(r.request.connection.sourcePrincipal, undefined);
  });
  test('NONE normalisation keeps the raw path', () => {
    const r = parseRequestFile(FULL, { pathNormalization: 'NONE' });
    assert.equal(r.request.http?.path, '/public/../admin');
  });
  const errors: Array<[string, string, RegExp, string]> = [
    ['yaml syntax', 'destination: [', /request:\d+: /, 'CONFIG_PARSE'],
    ['missing destination', 'source: {}', /destination/, 'CONFIG_INVALID'],
    ['port out of range', 'destination: { namespace: foo, port: 70000 }', /destination\.port/, 'CONFIG_INVALID'],
    ['port as string', 'destination: { namespace: foo, port: "80" }', /destination\.port/, 'CONFIG_INVALID'],
    ['bad source ip', 'destination: { namespace: foo, port: 80 }\nsource: { ip: 10.0.0.300 }', /source\.ip: must be an IPv4 or IPv6/, 'CONFIG_INVALID'],
    ['unknown key', 'destination: { namespace: foo, port: 80, nmespace: x }', /destination/, 'CONFIG_INVALID'],
    ['request without path', 'destination: { namespace: foo, port: 80 }\nrequest: { host: a }', /request\.path/, 'CONFIG_INVALID'],
    ['auth without principal', 'destination: { namespace: foo, port: 80 }\nauth: { audiences: [a] }', /auth\.principal/, 'CONFIG_INVALID'],
    ['path the proxy rejects', 'destination: { namespace: foo, port: 80 }\nrequest: { host: a, path: "/a%00b" }', /rejected with 400/, 'CONFIG_INVALID'],
  ];
  for (const [name, text, message, code] of errors) {
    test(`error: ${name}`, () => {
      assert.throws(() => parseRequestFile(text), (err: unknown) => isWeftError(err) && err.code === code && message.test(err.message));
    });
  }
});

describe('formatDecision', () => {
  const r = parseRequestFile(FULL);
  const engine = compileAuthorizationPolicies(
    [
      { namespace: 'foo', name: 'deny-admin', spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] } },
      { namespace: 'foo', name: 'ext', spec: { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ when: [{ key: 'request.headers[x-token]', values: ['admin'] }] }] } },
      { namespace: 'foo', name: 'shadow', annotations: { 'istio.io/dry-run': 'true' }, spec: { action: 'DENY', rules: [{}] } },
    ],
    { rootNamespace: 'istio-system', workloadNamespace: r.workloadNamespace, workloadLabels: r.workloadLabels },
  );
  const d = engine.evaluate(r.request);
  test('json carries decision, policy, rule, provider and dryRun', () => {
    assert.deepEqual(JSON.parse(formatDecision(d, 'json')), {
      decision: 'CUSTOM',
      policy: 'foo/ext',
      rule: 0,
      provider: 'opa',
      dryRun: [{ policy: 'foo/shadow', rule: 0, action: 'DENY', wouldMatch: true, wouldDeny: true }],
    });
  });
  test('text names the provider, the verdict after it and the dry-run', () => {
    const text = formatDecision(d, 'text');
    assert.match(text, /^CUSTOM: ask provider opa by foo\/ext rule 0/);
    assert.match(text, /if the provider allows: DENY by foo\/deny-admin rule 0/);
    assert.match(text, /dry-run DENY foo\/shadow: would deny \(rule 0\)/);
  });
  test('json without CUSTOM has no provider key', () => {
    const json = JSON.parse(formatDecision({ decision: 'ALLOW', policy: null, rule: null, dryRun: [], audit: false }, 'json')) as Record<string, unknown>;
    assert.deepEqual(json, { decision: 'ALLOW', policy: null, rule: null, dryRun: [] });
  });
});

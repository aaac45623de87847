/**
 * Authorization in a real mesh: Istio's bookinfo deny-all-then-allow policies, DENY and dry-run with the deciding
 * policy in the access log, path normalisation attacks, RequestAuthentication with a JWKS served inside the mesh
 * (including key rotation), CUSTOM ext-authz, and `weft authz check` against the running mesh.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

function accessLines(mesh: MeshRun, file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(path.join(mesh.stateDir, 'logs', file), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function apply(mesh: MeshRun, yaml: string): Promise<void> {
  const r = await mesh.weft(['apply', '-f', '-'], yaml);
  assert.equal(r.code, 0, r.stderr);
}

describe('bookinfo under deny-all-then-allow', () => {
  let mesh: MeshRun;
  before(async () => {
    mesh = await startMesh(['examples/bookinfo', 'examples/httpbin/sleep.yaml'], { isolation: 'none' });
  });
  after(async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  });

  test('the product page is still served through the ingress while sleep is refused', async () => {
    const r = await mesh.weft(['apply', '-f', 'examples/bookinfo/policies']);
    assert.equal(r.code, 0, r.stderr);
    await eventually('sleep refused by allow-nothing', async () => {
      const res = await callAs(mesh.workload('sleep'), 'http://details:9080/details/0');
      return res.status === 403 ? res : undefined;
    });
    for (const target of ['http://productpage:9080/productpage', 'http://reviews:9080/reviews/0', 'http://ratings:9080/ratings/0']) {
      const res = await callAs(mesh.workload('sleep'), target);
      assert.equal(res.status, 403, target);
      assert.equal(res.body.trim(), 'RBAC: access denied');
    }
    // Through the ingress every hop is allowed by identity: productpage → details, reviews → ratings (stars).
    let sawStars = false;
    for (let i = 0; i < 6; i++) {
      const page = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`);
      const body = await page.body.text();
      assert.equal(page.statusCode, 200);
      assert.doesNotMatch(body, /unavailable/i, 'details, reviews and ratings all answered');
      sawStars ||= /data-color="(black|red)"/.test(body);
    }
    assert.ok(sawStars, 'reviews v2/v3 reached ratings');
    const denied = await eventually('the denial logged', () => accessLines(mesh, 'default.details-v1.sidecar.log').find((l) => l['status'] === 403));
    assert.ok(denied, 'the denied call is in details\' access log');
    assert.deepEqual(denied['authz'], { decision: 'DENY', policy: null, rule: null });
    assert.match(String(denied['peer']), /sa\/sleep$/);
  });

  test('the ingress gateway enforces policies that select it, from the root namespace', async () => {
    await apply(
      mesh,
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress-no-api, namespace: weft-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/api/*"] } }]
`,
    );
    const api = await eventually('the gateway to deny /api', async () => {
      const r = await request(`http://127.0.0.1:${mesh.ingressPort}/api/v1/products`);
      const body = await r.body.text();
      return r.statusCode === 403 ? body : undefined;
    });
    assert.equal(api.trim(), 'RBAC: access denied');
    const page = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`);
    assert.equal(page.statusCode, 200);
    await page.body.dump();
    assert.equal((await mesh.weft(['delete', 'authorizationpolicy', 'ingress-no-api', '-n', 'weft-system'])).code, 0);
  });

  test('weft authz check and list use the running mesh\'s policies', async () => {
    const check = await mesh.weft(['authz', 'check', '--request', 'examples/bookinfo/authz-requests/gateway-to-productpage.yaml', '-o', 'json']);
    assert.equal(check.code, 0, check.stderr);
    assert.deepEqual(JSON.parse(check.stdout), { decision: 'ALLOW', policy: 'default/productpage-viewer', rule: 0, dryRun: [] });
    const denied = await mesh.weft(['authz', 'check', '--request', 'examples/bookinfo/authz-requests/sleep-to-details.yaml', '-o', 'json']);
    assert.equal((JSON.parse(denied.stdout) as { decision: string }).decision, 'DENY');
    const list = await mesh.weft(['authz', 'list', 'ratings-v1']);
    assert.match(list.stdout, /default\/allow-nothing[\s\S]*default\/ratings-viewer/);
  });
});

describe('httpbin: DENY, dry-run, normalisation, JWT, ext-authz', () => {
  let mesh: MeshRun;
  let extra: string;
  before(async () => {
    extra = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-authz-'));
    mesh = await startMesh(['examples/httpbin', 'examples/jwt', 'examples/ext-authz'], { isolation: 'none' });
  });
  after(async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
    fs.rmSync(extra, { recursive: true, force: true });
  });

  const sleep = (): ReturnType<MeshRun['workload']> => mesh.workload('sleep');
  /** /headers also goes through the ext-authz provider in this mesh: say "allow" to it, so require-jwt decides. */
  const headersWith = (token?: string, extra: Record<string, string> = {}): ReturnType<typeof callAs> =>
    callAs(sleep(), 'http://httpbin:8000/headers', {
      headers: { 'x-ext-authz': 'allow', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...extra },
    });

  test('a DENY policy refuses with 403 and the access log names the policy and rule; dry-run only records', async () => {
    await apply(
      mesh,
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-status, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  action: DENY
  rules:
  - to: [{ operation: { methods: ["DELETE"] } }]
  - to: [{ operation: { paths: ["/status/*"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-anything-dry
  namespace: default
  annotations: { istio.io/dry-run: "true" }
spec:
  selector: { matchLabels: { app: httpbin } }
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/anything*"] } }]
`,
    );
    const denied = await eventually('DENY in force', async () => {
      const r = await callAs(sleep(), 'http://httpbin:8000/status/200');
      return r.status === 403 ? r : undefined;
    });
    assert.equal(denied.body.trim(), 'RBAC: access denied');
    assert.doesNotMatch(denied.body, /deny-status/, 'the caller never sees policy names');
    const dry = await callAs(sleep(), 'http://httpbin:8000/anything/x');
    assert.equal(dry.status, 200, 'a dry-run DENY changes nothing');
    // Access log lines are buffered for a few tens of milliseconds.
    const lines = await eventually('both lines logged', () => {
      const all = accessLines(mesh, 'default.httpbin.sidecar.log');
      return all.some((l) => String(l['path']) === '/anything/x') && all.some((l) => l['status'] === 403) ? all : undefined;
    });
    const deniedLine = lines.find((l) => l['status'] === 403 && String(l['path']).startsWith('/status/'));
    assert.deepEqual(deniedLine?.['authz'], { decision: 'DENY', policy: 'default/deny-status', rule: 1 });
    const dryLine = lines.find((l) => String(l['path']) === '/anything/x');
    assert.deepEqual(dryLine?.['dryRun'], [{ policy: 'default/deny-anything-dry', rule: 0, action: 'DENY', wouldDeny: true }]);
    // The same verdicts are counted on the sidecar's Prometheus endpoint (Istio's admin port 15020).
    const stats = await request(`http://${mesh.workload('httpbin').podIP}:15020/stats/prometheus`);
    const text = await stats.body.text();
    assert.match(text, /weft_authz_decisions_total\{policy="default\/deny-anything-dry",decision="DENY",mode="dry_run",workload="default\/httpbin"\} [1-9]/);
    assert.match(text, /weft_authz_decisions_total\{policy="default\/deny-status",decision="DENY",mode="enforced",workload="default\/httpbin"\} [1-9]/);
    assert.match(text, /istio_requests_total\{reporter="destination",[^}]*source_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep",[^}]*response_code="403"/);
  });

  test('path normalisation: a DENY on /status/* also catches /get/../status/200 and %-encoded forms', async () => {
    // Istio's default normalisation (BASE, as Envoy's normalize_path): every form is /status/200, which is denied.
    for (const p of ['/get/../status/200', '/./status/200', '/%73tatus/200', '/get/%2e%2e/status/200', '/get\\..\\status/200']) {
      const r = await callAs(sleep(), `http://httpbin:8000${p}`);
      assert.equal(r.status, 403, `${p} → ${r.status} ${r.body}`);
      assert.equal(r.body, 'RBAC: access denied\n', p);
    }
    const ok = await callAs(sleep(), 'http://httpbin:8000/get/../get');
    assert.equal(ok.status, 200, 'normalised to /get, which no policy denies');
  });

  test('RequestAuthentication: no token is refused by policy, a bad token is 401, a valid one passes with its claims', async () => {
    const token = (await callAs(sleep(), 'http://jwt-issuer:8000/token?sub=alice')).body;
    const withToken = await eventually('JWKS fetched and pushed', async () => {
      const r = await headersWith(token, { 'x-jwt-sub': 'mallory' });
      return r.status === 200 ? r : undefined;
    });
    const headers = (JSON.parse(withToken.body) as { headers: Record<string, string> }).headers;
    assert.equal(headers['X-Jwt-Sub'], 'alice', 'the claim header comes from the token, never from the caller');
    assert.equal(headers['Authorization'], undefined, 'the verified token is removed (forwardOriginalToken is off)');
    const noToken = await headersWith();
    assert.equal(noToken.status, 403, 'no token: no request principal, so require-jwt denies');
    assert.equal(noToken.body.trim(), 'RBAC: access denied');
    assert.equal((await callAs(sleep(), 'http://httpbin:8000/get')).status, 200, 'no token on an open path passes');
    const bad = await callAs(sleep(), 'http://httpbin:8000/get', { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    assert.equal(bad.status, 401);
    const otherAud = (await callAs(sleep(), 'http://jwt-issuer:8000/token?sub=alice&aud=other')).body;
    assert.equal((await callAs(sleep(), 'http://httpbin:8000/get', { headers: { authorization: `Bearer ${otherAud}` } })).status, 401);
    const expired = (await callAs(sleep(), 'http://jwt-issuer:8000/token?sub=alice&exp=1s')).body;
    await new Promise((r) => setTimeout(r, 1500));
    // Envoy allows 60 s of clock skew, so a token one second past its expiry is still accepted.
    assert.equal((await callAs(sleep(), 'http://httpbin:8000/get', { headers: { authorization: `Bearer ${expired}` } })).status, 200);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.`;
    assert.equal((await callAs(sleep(), 'http://httpbin:8000/get', { headers: { authorization: `Bearer ${none}` } })).status, 401);
  });

  test('a rotated signing key (new kid) is fetched on first sight and then accepted', async () => {
    const rotated = await callAs(sleep(), 'http://jwt-issuer:8000/rotate', { method: 'POST' });
    assert.equal(rotated.status, 200);
    const token = (await callAs(sleep(), 'http://jwt-issuer:8000/token?sub=bob')).body;
    const first = await headersWith(token);
    assert.equal(first.status, 401, 'unknown kid until the JWKS is refetched');
    await eventually(
      'the new key to reach the sidecar',
      async () => {
        const r = await headersWith(token);
        return r.status === 200 ? r : undefined;
      },
      20_000,
    );
  });

  test('CUSTOM: the ext-authz provider allows and denies, its answer reaches the client', async () => {
    const denied = await callAs(sleep(), 'http://httpbin:8000/headers', { headers: { 'x-ext-authz': 'deny' } });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /denied by ext_authz for not found header `x-ext-authz: allow`/);
    assert.equal(denied.headers['x-ext-authz-check-result'], 'denied');
    const token = (await callAs(sleep(), 'http://jwt-issuer:8000/token?sub=alice')).body;
    const allowed = await callAs(sleep(), 'http://httpbin:8000/headers', { headers: { 'x-ext-authz': 'allow', authorization: `Bearer ${token}` } });
    assert.equal(allowed.status, 200);
    const seen = (JSON.parse(allowed.body) as { headers: Record<string, string> }).headers;
    assert.equal(seen['X-Ext-Authz-Check-Result'], 'allowed', 'headersToUpstreamOnAllow copied the verdict upstream');
    // The provider allowed, but ALLOW policies still apply: without a token require-jwt refuses.
    const noToken = await callAs(sleep(), 'http://httpbin:8000/headers', { headers: { 'x-ext-authz': 'allow' } });
    assert.equal(noToken.status, 403);
    assert.equal((await callAs(sleep(), 'http://httpbin:8000/ip')).status, 200, 'paths outside the CUSTOM rule skip the provider');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { ApiFixture } from './api-server.fixture.js';
import { startApiFixture } from './api-server.fixture.js';

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const doc = (kind: string, namespace: string, name: string) => ({
  apiVersion: kind === 'AuthorizationPolicy' || kind === 'PeerAuthentication' ? 'security.istio.io/v1' : 'networking.istio.io/v1',
  kind,
  metadata: { name, namespace },
  spec: {},
});

describe('operator roles over the real API', () => {
  let api: ApiFixture;
  let agent: Agent;
  const secret: Record<string, string> = {};

  before(async () => {
    api = await startApiFixture();
    agent = new Agent({ connect: { ca: api.caPem } });
    const issue = async (name: string, role: 'viewer' | 'editor' | 'policy-admin' | 'auditor', namespaces: string[]) => {
      secret[name] = (await api.credentials.create({ name, role, namespaces })).secret;
    };
    await issue('viewer', 'viewer', []);
    await issue('shop-editor', 'editor', ['shop']);
    await issue('editor', 'editor', []);
    await issue('shop-policy', 'policy-admin', ['shop']);
    await issue('policy', 'policy-admin', []);
    await issue('auditor', 'auditor', []);
    secret['admin'] = api.adminSecret;
  });
  after(async () => {
    await agent.close();
    await api.close();
  });

  async function call(who: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    const res = await request(`${api.origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret[who] ?? who}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: agent,
    });
    return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
  }

  const apply = (who: string, ...docs: unknown[]) => call(who, 'POST', '/api/v1/apply', { resources: docs });

  test("each role's limits: who may apply what where", async () => {
    const cases: [who: string, kind: string, namespace: string, status: number][] = [
      ['viewer', 'VirtualService', 'shop', 403],
      ['auditor', 'VirtualService', 'shop', 403],
      ['shop-editor', 'VirtualService', 'shop', 200],
      ['shop-editor', 'VirtualService', 'payments', 403],
      ['shop-editor', 'AuthorizationPolicy', 'shop', 403],
      ['editor', 'VirtualService', 'payments', 200],
      ['editor', 'VirtualService', 'weft-system', 403],
      ['shop-policy', 'AuthorizationPolicy', 'shop', 200],
      ['shop-policy', 'VirtualService', 'shop', 403],
      ['shop-policy', 'AuthorizationPolicy', 'payments', 403],
      ['policy', 'PeerAuthentication', 'payments', 200],
      ['policy', 'PeerAuthentication', 'weft-system', 403],
      ['admin', 'PeerAuthentication', 'weft-system', 200],
    ];
    for (const [who, kind, namespace, status] of cases) {
      const res = await apply(who, doc(kind, namespace, `by-${who}`));
      assert.equal(res.status, status, `${who} applies ${kind} in ${namespace}: ${JSON.stringify(res.body)}`);
      const stored = await api.store.get({ kind, namespace, name: `by-${who}` });
      assert.equal(stored?.metadata.name, status === 200 ? `by-${who}` : undefined);
    }
  });

  test('a refusal is 403 FORBIDDEN naming the missing permission, and a batch with one refused item stores nothing', async () => {
    const res = await apply('shop-editor', doc('VirtualService', 'shop', 'fine'), doc('VirtualService', 'payments', 'not-mine'));
    assert.deepEqual(res, {
      status: 403,
      body: {
        error: {
          code: 'FORBIDDEN',
          message: 'shop-editor (editor in shop) lacks permission to create VirtualService in namespace payments',
          detail: { missing: { verb: 'create', kind: 'VirtualService', namespace: 'payments' } },
        },
      },
    });
    assert.equal(await api.store.get({ kind: 'VirtualService', namespace: 'shop', name: 'fine' }), undefined);
    const update = await apply('shop-policy', doc('AuthorizationPolicy', 'shop', 'by-shop-policy'));
    assert.equal(update.status, 200);
    const del = await call('shop-editor', 'POST', '/api/v1/delete', { keys: [{ kind: 'AuthorizationPolicy', namespace: 'shop', name: 'by-shop-policy' }] });
    assert.equal(del.body.error.message, 'shop-editor (editor in shop) lacks permission to delete AuthorizationPolicy in namespace shop');
  });

  test('reads follow the bindings: a namespaced role reads only its namespaces; the audit log is for auditors', async () => {
    // The store writes change times from the system clock; `at` this moment is the state now.
    const now = new Date().toISOString();
    const cases: [who: string, path: string, status: number][] = [
      ['shop-editor', '/api/v1/resources?kind=VirtualService&namespace=shop', 200],
      ['shop-editor', '/api/v1/resources?kind=VirtualService&namespace=payments', 403],
      ['shop-editor', '/api/v1/resources?kind=VirtualService', 403],
      ['shop-editor', '/api/v1/resources/VirtualService/payments/by-editor', 403],
      ['viewer', '/api/v1/resources', 200],
      ['viewer', '/api/v1/resources/VirtualService/payments/by-editor', 200],
      ['viewer', '/api/v1/audit', 403],
      ['policy', '/api/v1/audit', 403],
      ['auditor', '/api/v1/audit', 200],
      ['viewer', '/api/v1/audit/log', 403],
      ['editor', '/api/v1/audit/log', 403],
      ['policy', '/api/v1/audit/log?kind=refusal', 403],
      ['auditor', '/api/v1/audit/log', 200],
      ['auditor', '/api/v1/audit/log?kind=refusal', 200],
      ['admin', '/api/v1/audit/log', 200],
      // What a proxy enforced is read from the chain: authorized like the log (404: no proxy has ACKed here).
      ['viewer', '/api/v1/audit/enforced?proxy=sidecar/shop/a&at=1', 403],
      ['editor', '/api/v1/audit/enforced?proxy=sidecar/shop/a&at=1', 403],
      ['policy', '/api/v1/audit/enforced?proxy=sidecar/shop/a&at=1', 403],
      ['auditor', '/api/v1/audit/enforced?proxy=sidecar/shop/a&at=1', 404],
      ['admin', '/api/v1/audit/enforced?proxy=sidecar/shop/a&at=1', 404],
      ['auditor', '/api/v1/audit/enforced?proxy=sidecar/shop/a&at=tomorrow', 400],
      // History and a past state are reads of the kind in that namespace.
      ['shop-editor', '/api/v1/history/AuthorizationPolicy/shop/by-shop-policy', 200],
      ['shop-editor', '/api/v1/history/VirtualService/payments/by-editor', 403],
      ['viewer', '/api/v1/history/VirtualService/payments/by-editor', 200],
      ['auditor', '/api/v1/history/VirtualService/payments/by-editor', 200],
      ['shop-editor', `/api/v1/resources/AuthorizationPolicy/shop/by-shop-policy?at=${now}`, 200],
      ['shop-editor', `/api/v1/resources/VirtualService/payments/by-editor?at=${now}`, 403],
      ['viewer', `/api/v1/resources/VirtualService/payments/by-editor?at=${now}`, 200],
      ['shop-editor', '/api/v1/resources?kind=VirtualService&namespace=shop&at=1', 200],
      ['shop-editor', '/api/v1/resources?kind=VirtualService&namespace=payments&at=1', 403],
      ['viewer', '/api/v1/credentials', 403],
      ['auditor', '/api/v1/credentials', 403],
      ['admin', '/api/v1/credentials', 200],
      ['viewer', '/api/v1/proxies', 200],
      ['shop-editor', '/api/v1/proxies', 403],
    ];
    for (const [who, path, status] of cases) assert.equal((await call(who, 'GET', path)).status, status, `${who} GET ${path}`);
  });

  test('every refused call is one chain entry with who, which credential, what and the missing permission', async () => {
    const log = async () => (await call('auditor', 'GET', '/api/v1/audit/log?kind=refusal')).body.entries as Record<string, unknown>[];
    const before = (await log()).length;
    await call('viewer', 'POST', '/api/v1/credentials', { role: 'mesh-admin' });
    await call('shop-editor', 'GET', '/api/v1/resources/Service/payments/reviews');
    await call('auditor', 'POST', '/api/v1/tokens', { namespace: 'shop', serviceAccount: 'sa', workload: 'w1' });
    await apply('shop-editor', doc('VirtualService', 'shop', 'ok-1'), doc('VirtualService', 'payments', 'not-ok'));
    const idOf = (who: string): string => (secret[who] as string).slice(5, 21);
    const entries = (await log()).slice(before);
    assert.deepEqual(
      entries.map(({ actor, method, path, status, code, verb, key, missing, reason, source }) => ({ actor, method, path, status, code, verb, key, missing, reason, source })),
      [
        {
          actor: { name: 'viewer', credentialId: idOf('viewer') },
          method: 'POST',
          path: '/api/v1/credentials',
          status: 403,
          code: 'FORBIDDEN',
          verb: 'create',
          key: { kind: 'Credential', namespace: '*', name: '' },
          missing: { verb: 'create', kind: 'Credential', namespace: '*' },
          reason: 'viewer (viewer in all namespaces) lacks permission to create Credential in all namespaces',
          source: '127.0.0.1',
        },
        {
          actor: { name: 'shop-editor', credentialId: idOf('shop-editor') },
          method: 'GET',
          path: '/api/v1/resources/Service/payments/reviews',
          status: 403,
          code: 'FORBIDDEN',
          verb: 'get',
          key: { kind: 'Service', namespace: 'payments', name: 'reviews' },
          missing: { verb: 'get', kind: 'Service', namespace: 'payments' },
          reason: 'shop-editor (editor in shop) lacks permission to get Service in namespace payments',
          source: '127.0.0.1',
        },
        {
          actor: { name: 'auditor', credentialId: idOf('auditor') },
          method: 'POST',
          path: '/api/v1/tokens',
          status: 403,
          code: 'FORBIDDEN',
          verb: 'create',
          key: { kind: 'BootstrapToken', namespace: 'shop', name: 'w1' },
          missing: { verb: 'create', kind: 'BootstrapToken', namespace: 'shop' },
          reason: 'auditor (auditor in all namespaces) lacks permission to create BootstrapToken in namespace shop',
          source: '127.0.0.1',
        },
        {
          actor: { name: 'shop-editor', credentialId: idOf('shop-editor') },
          method: 'POST',
          path: '/api/v1/apply',
          status: 403,
          code: 'FORBIDDEN',
          verb: 'create',
          key: { kind: 'VirtualService', namespace: 'payments', name: 'not-ok' },
          missing: { verb: 'create', kind: 'VirtualService', namespace: 'payments' },
          reason: 'shop-editor (editor in shop) lacks permission to create VirtualService in namespace payments',
          source: '127.0.0.1',
        },
      ],
    );
  });

  test('rollback needs get on the object, then the permission of the change it makes, and is audited as the caller', async () => {
    const vs = (hosts: string[]) => ({ ...doc('VirtualService', 'payments', 'rb'), spec: { hosts } });
    assert.equal((await apply('editor', vs(['a']))).status, 200);
    const first = (await api.store.get({ kind: 'VirtualService', namespace: 'payments', name: 'rb' }))?.metadata.resourceVersion;
    assert.equal((await apply('editor', vs(['b']))).status, 200);
    const rollback = (who: string, to: number | string) => call(who, 'POST', '/api/v1/rollback/VirtualService/payments/rb', { to });
    const refused: [who: string, to: number | string, missing: unknown][] = [
      ['shop-editor', Number(first), { verb: 'get', kind: 'VirtualService', namespace: 'payments' }],
      ['viewer', Number(first), { verb: 'update', kind: 'VirtualService', namespace: 'payments' }],
      ['auditor', Number(first), { verb: 'update', kind: 'VirtualService', namespace: 'payments' }],
      ['policy', Number(first), { verb: 'update', kind: 'VirtualService', namespace: 'payments' }],
      // Back to before it existed: the change is a delete.
      ['viewer', 0, { verb: 'delete', kind: 'VirtualService', namespace: 'payments' }],
    ];
    for (const [who, to, missing] of refused) {
      const res = await rollback(who, to);
      assert.deepEqual([res.status, res.body.error.code, res.body.error.detail], [403, 'FORBIDDEN', { missing }], `${who} to ${to}`);
    }
    assert.deepEqual((await api.store.get({ kind: 'VirtualService', namespace: 'payments', name: 'rb' }))?.spec, { hosts: ['b'] });
    const done = await rollback('editor', Number(first));
    assert.deepEqual([done.status, done.body], [200, { revision: Number(first), result: 'configured' }]);
    const [change] = await api.store.auditLog({ type: 'change', sinceRevision: (await api.store.revision()) - 1 });
    assert.ok(change?.type === 'change');
    assert.deepEqual([change.actor, change.verb, change.key.name], [{ name: 'editor', credentialId: (secret['editor'] as string).slice(5, 21) }, 'update', 'rb']);
  });

  test('mesh-admin issues, lists and revokes credentials; a revoked or expired credential is 401', async () => {
    const created = await call('admin', 'POST', '/api/v1/credentials', { role: 'editor', namespaces: ['cart'], expires: '1h', name: 'cart-ci' });
    assert.equal(created.status, 200);
    assert.deepEqual(created.body.credential, {
      name: 'cart-ci',
      bindings: [{ role: 'editor', namespace: 'cart' }],
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T01:00:00.000Z',
    });
    const cart: string = created.body.secret;
    assert.equal((await apply(cart, doc('VirtualService', 'cart', 'c1'))).status, 200);

    const listed = await call('admin', 'GET', '/api/v1/credentials');
    assert.equal(JSON.stringify(listed.body).includes(cart), false);
    assert.deepEqual(listed.body.credentials.find((c: { name: string }) => c.name === 'cart-ci').bindings, [{ role: 'editor', namespace: 'cart' }]);

    // Neither the store nor its write-ahead log holds the secret or its plain SHA-256.
    const dbFiles = await Promise.all(['store.db', 'store.db-wal'].map((f) => readFile(path.join(api.dir, f)).catch(() => Buffer.alloc(0))));
    for (const bytes of dbFiles) {
      assert.equal(bytes.includes(Buffer.from(cart.slice('weft_0123456789abcdef_'.length))), false);
      assert.equal(bytes.includes(createHash('sha256').update(cart).digest()), false);
    }

    api.clock.now += 3600_000;
    const expired = await call(cart, 'GET', '/api/v1/resources?namespace=cart');
    assert.deepEqual([expired.status, expired.body.error.code, expired.body.error.message], [401, 'UNAUTHENTICATED', 'the credential cart-ci expired at 2026-01-01T01:00:00.000Z']);

    const again = await call('admin', 'POST', '/api/v1/credentials', { role: 'viewer', name: 'cart-ci' });
    const rotated: string = again.body.secret;
    assert.equal((await call(rotated, 'GET', '/api/v1/resources?namespace=cart')).status, 200);
    const revoked = await call('admin', 'POST', '/api/v1/credentials/cart-ci/revoke', {});
    assert.equal(revoked.body.credential.revokedAt, '2026-01-01T01:00:00.000Z');
    const after = await call(rotated, 'GET', '/api/v1/resources?namespace=cart');
    assert.deepEqual([after.status, after.body.error.message], [401, 'the credential cart-ci was revoked at 2026-01-01T01:00:00.000Z']);
    assert.equal((await call('admin', 'POST', '/api/v1/credentials/cart-ci/revoke', {})).status, 404);
    assert.equal((await call('editor', 'POST', '/api/v1/credentials/viewer/revoke', {})).status, 403);

    const bad: [unknown, string][] = [
      [{ role: 'root' }, 'role must be one of viewer, editor, policy-admin, auditor, mesh-admin'],
      [{ role: 'viewer', expires: 'soon' }, 'expires "soon" must be a positive duration such as "30m", "12h" or "720h"'],
      [{ role: 'mesh-admin', namespaces: ['shop'] }, 'mesh-admin is bound in every namespace; it takes no --namespace'],
    ];
    for (const [body, message] of bad) {
      const res = await call('admin', 'POST', '/api/v1/credentials', body);
      assert.deepEqual([res.status, res.body.error.message], [400, message]);
    }
  });

  test('can-i answers about the caller with the same decision', async () => {
    const ask = async (who: string, q: unknown) => (await call(who, 'POST', '/api/v1/can-i', q)).body;
    assert.deepEqual(await ask('shop-editor', { verb: 'create', kind: 'VirtualService', namespace: 'shop' }), {
      principal: { name: 'shop-editor', bindings: [{ role: 'editor', namespace: 'shop' }] },
      allowed: true,
      role: 'editor',
    });
    const no = await ask('shop-editor', { verb: 'create', kind: 'AuthorizationPolicy', namespace: 'shop' });
    assert.deepEqual([no.allowed, no.missing], [false, { verb: 'create', kind: 'AuthorizationPolicy', namespace: 'shop' }]);
    assert.equal((await ask('viewer', { verb: 'list', kind: 'AuditRecord' })).allowed, false);
    assert.equal((await ask('auditor', { verb: 'list', kind: 'AuditRecord' })).allowed, true);
    assert.equal((await call('viewer', 'POST', '/api/v1/can-i', { verb: 'patch', kind: 'Service' })).status, 400);
  });
});

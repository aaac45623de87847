import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { ApiFixture } from './api-server.fixture.js';
import { startApiFixture } from './api-server.fixture.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const svc = (name: string, ports: unknown[] = [{ port: 9080 }]) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { ports },
});

describe('control plane API over HTTPS', () => {
  let api: ApiFixture;
  let agent: Agent;

  before(async () => {
    api = await startApiFixture();
    agent = new Agent({ connect: { ca: api.caPem } });
  });
  after(async () => {
    await agent.close();
    await api.close();
  });

  async function call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: { secret?: string | null; body?: unknown; rawBody?: string | Buffer } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const secret = options.secret === undefined ? api.adminSecret : options.secret;
    if (secret !== null) headers['authorization'] = `Bearer ${secret}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const res = await request(`${api.origin}${path}`, { method, headers, body, dispatcher: agent });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
  }

  test('refuses requests without a valid credential with 401 and a Bearer challenge', async () => {
    const cases: { name: string; secret: string | null }[] = [
      { name: 'no credential', secret: null },
      { name: 'unknown credential', secret: 'weft_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      { name: 'garbage', secret: 'hunter2' },
      { name: 'right id, wrong secret', secret: `${api.adminSecret.slice(0, -4)}AAAA` },
    ];
    for (const c of cases) {
      const res = await call('GET', '/api/v1/resources', { secret: c.secret });
      assert.equal(res.status, 401, c.name);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/, c.name);
      assert.equal(res.body.error.code, 'UNAUTHENTICATED', c.name);
      assert.match(String(res.headers['content-type']), /^application\/json/, c.name);
    }
  });

  test('a viewer may read but gets 403 for every write', async () => {
    assert.equal((await call('GET', '/api/v1/resources', { secret: api.viewerSecret })).status, 200);
    const writes: [method: 'POST' | 'PUT', path: string, body: unknown][] = [
      ['POST', '/api/v1/apply', { resources: [svc('viewer-made')] }],
      ['POST', '/api/v1/delete', { keys: [{ kind: 'Service', namespace: 'default', name: 'x' }] }],
      ['PUT', '/api/v1/status/Service/default/x', { status: {} }],
      ['POST', '/api/v1/tokens', { namespace: 'a', serviceAccount: 'b', workload: 'c' }],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(method, path, { secret: api.viewerSecret, body });
      assert.equal(res.status, 403, path);
      assert.equal(res.body.error.code, 'FORBIDDEN', path);
    }
    assert.equal(await api.store.get({ kind: 'Service', namespace: 'default', name: 'viewer-made' }), undefined);
  });

  test('unknown routes are 404, known routes with the wrong method 405, non-API paths are not handled', async () => {
    const cases: [method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number][] = [
      ['GET', '/api/v1/nope', 404],
      ['GET', '/api/v2/resources', 404],
      ['GET', '/api/v1/resources/Service/default', 404],
      ['DELETE', '/api/v1/resources', 405],
      ['GET', '/api/v1/apply', 405],
      ['POST', '/api/v1/audit', 405],
    ];
    for (const [method, path, status] of cases) {
      const res = await call(method, path, { body: {} });
      assert.equal(res.status, status, `${method} ${path}`);
    }
    assert.equal((await call('GET', '/api/v1/apply')).headers['allow'], 'POST');
    const other = await request(`${api.origin}/healthz`, { dispatcher: agent });
    assert.equal(other.statusCode, 418);
    await other.body.text();
  });

  test('malformed JSON is 400 with the parser message; an empty body is 400; oversize is 413', async () => {
    const malformed = await call('POST', '/api/v1/apply', { rawBody: '{"resources": [' });
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.error.message, /not valid JSON: .+/);
    assert.equal((await call('POST', '/api/v1/apply', { rawBody: '' })).status, 400);
    const wrongShape = await call('POST', '/api/v1/apply', { body: { resource: [] } });
    assert.equal(wrongShape.status, 400);
    const big = Buffer.alloc(4 * 1024 * 1024 + 10, 0x20);
    const oversize = await call('POST', '/api/v1/apply', { rawBody: big });
    assert.equal(oversize.status, 413);
    assert.equal(oversize.body.error.code, 'BAD_REQUEST');
  });

  test('an invalid apply is 400 listing every problem of every document, and stores nothing', async () => {
    const before = await api.store.revision();
    const res = await call('POST', '/api/v1/apply', {
      body: { resources: [svc('fine'), { kind: 'Service', metadata: {} }, { apiVersion: 'v1', metadata: { name: 'x' } }] },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'CONFIG_INVALID');
    assert.deepEqual(
      res.body.error.detail.issues.map((i: { file: string; field: string }) => `${i.file} ${i.field}`),
      ['resources[1] apiVersion', 'resources[1] metadata.name', 'resources[2] kind'],
    );
    assert.equal(await api.store.revision(), before);
    assert.equal(await api.store.get({ kind: 'Service', namespace: 'default', name: 'fine' }), undefined);
  });

  test('apply answers created, configured and unchanged per resource', async () => {
    const steps: [resources: unknown[], results: string[]][] = [
      [[svc('details'), svc('ratings')], ['created', 'created']],
      [[svc('details'), svc('ratings')], ['unchanged', 'unchanged']],
      [[svc('details', [{ port: 9081 }]), svc('ratings')], ['configured', 'unchanged']],
    ];
    for (const [resources, results] of steps) {
      const res = await call('POST', '/api/v1/apply', { body: { resources } });
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.results.map((r: { result: string }) => r.result),
        results,
      );
      assert.deepEqual(Object.keys(res.body.results[0]).sort(), ['apiVersion', 'kind', 'name', 'namespace', 'result']);
    }
    const one = await call('GET', '/api/v1/resources/Service/default/details');
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.spec, { ports: [{ port: 9081 }] });
    const listed = await call('GET', '/api/v1/resources?kind=Service&namespace=default');
    assert.deepEqual(
      listed.body.items.map((r: { metadata: { name: string } }) => r.metadata.name),
      ['details', 'ratings'],
    );
  });

  test('a missing resource is 404 with a kubectl-like message', async () => {
    const res = await call('GET', '/api/v1/resources/VirtualService/default/ghost');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'NOT_FOUND');
    assert.equal(res.body.error.message, 'virtualservices.networking.istio.io "ghost" not found');
  });

  test('delete removes all keys or, if one is missing, nothing', async () => {
    await call('POST', '/api/v1/apply', { body: { resources: [svc('d1'), svc('d2')] } });
    const key = (name: string) => ({ kind: 'Service', namespace: 'default', name });
    const missing = await call('POST', '/api/v1/delete', { body: { keys: [key('d1'), key('ghost')] } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, 'services "ghost" not found');
    assert.notEqual(await api.store.get(key('d1')), undefined);
    const ok = await call('POST', '/api/v1/delete', { body: { keys: [key('d1'), key('d2')] } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.deleted.map((d: { name: string }) => d.name), ['d1', 'd2']);
    assert.equal(await api.store.get(key('d1')), undefined);
    assert.equal((await call('POST', '/api/v1/delete', { body: { keys: [{ kind: 'Service' }] } })).status, 400);
  });

  test('status updates are stored, audited and reported for Workloads', async () => {
    const wl = { apiVersion: 'weft.dev/v1alpha1', kind: 'Workload', metadata: { name: 'reviews-v1', namespace: 'default' }, spec: {} };
    await call('POST', '/api/v1/apply', { body: { resources: [wl] } });
    const res = await call('PUT', '/api/v1/status/Workload/default/reviews-v1', {
      body: { status: { phase: 'Running', podIP: '10.88.0.5' } },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.status, { phase: 'Running', podIP: '10.88.0.5' });
    assert.deepEqual(api.workloadStatuses.at(-1)?.status, { phase: 'Running', podIP: '10.88.0.5' });
    const missing = await call('PUT', '/api/v1/status/Workload/default/ghost', { body: { status: {} } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, 'workloads.weft.dev "ghost" not found');
  });

  test('every change leaves one audit row naming the credential that made it', async () => {
    const since = await api.store.revision();
    await call('POST', '/api/v1/apply', { body: { resources: [svc('audited')] } });
    await call('PUT', '/api/v1/status/Service/default/audited', { body: { status: { seen: true } } });
    await call('POST', '/api/v1/delete', { body: { keys: [{ kind: 'Service', namespace: 'default', name: 'audited' }] } });
    const res = await call('GET', `/api/v1/audit?since=${since}`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.records.map((r: { actor: string; verb: string; key: { name: string } }) => [r.actor, r.verb, r.key.name]),
      [
        ['admin', 'create', 'audited'],
        ['admin', 'status', 'audited'],
        ['admin', 'delete', 'audited'],
      ],
    );
    assert.equal((await call('GET', '/api/v1/audit?limit=-1')).status, 400);
  });

  test('tokens are issued for admins; proxies list what the control plane reports', async () => {
    const res = await call('POST', '/api/v1/tokens', { body: { namespace: 'default', serviceAccount: 'bookinfo-reviews', workload: 'reviews-v1' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.token, 'token-for-default-bookinfo-reviews-reviews-v1');
    assert.equal(api.issued.at(-1)?.ttlMs, 600_000);
    assert.equal((await call('POST', '/api/v1/tokens', { body: { namespace: 'default' } })).status, 400);
    const proxies = await call('GET', '/api/v1/proxies', { secret: api.viewerSecret });
    assert.deepEqual(proxies.body, { proxies: [{ name: 'reviews-v1', version: '7', acked: true }] });
  });

  test('speaks HTTP/2 as well', async () => {
    const session = connect(api.origin, { ca: api.caPem });
    try {
      const stream = session.request({ ':path': '/api/v1/proxies', authorization: `Bearer ${api.adminSecret}` });
      const chunks: Buffer[] = [];
      const status = await new Promise<number>((resolve, reject) => {
        let code = 0;
        stream.on('response', (h) => (code = Number(h[':status'])));
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve(code));
        stream.on('error', reject);
      });
      assert.equal(status, 200);
      assert.equal(JSON.parse(Buffer.concat(chunks).toString()).proxies.length, 1);
    } finally {
      session.close();
    }
  });
});

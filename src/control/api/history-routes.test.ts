import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { ApiFixture } from './api-server.fixture.js';
import { startApiFixture } from './api-server.fixture.js';

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const vs = (timeout: string) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'r', namespace: 'default' },
  spec: { hosts: ['h'], http: [{ timeout }] },
});

describe('history, rollback and refusal auditing over the API', () => {
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

  async function call(method: 'GET' | 'POST', path: string, options: { secret?: string | null; body?: unknown } = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const secret = options.secret === undefined ? api.adminSecret : options.secret;
    if (secret !== null) headers['authorization'] = `Bearer ${secret}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const res = await request(`${api.origin}${path}`, { method, headers, body, dispatcher: agent });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) };
  }

  const adminId = (): string => /^weft_([0-9a-f]{16})_/.exec(api.adminSecret)?.[1] ?? '';
  const refusals = async () => (await api.store.auditLog({ type: 'refusal' })).map((e) => (e.type === 'refusal' ? [e.actor?.name ?? null, e.method, e.path, e.status, e.code] : []));

  test('get ?at, history and rollback; the rollback is the caller\'s audited change', async () => {
    assert.equal((await call('POST', '/api/v1/apply', { body: { resources: [vs('5s')] } })).status, 200);
    assert.equal((await call('POST', '/api/v1/apply', { body: { resources: [vs('7s')] } })).status, 200);
    const path = '/api/v1/resources/VirtualService/default/r';
    const at1 = await call('GET', `${path}?at=1`);
    assert.deepEqual([at1.status, at1.body.spec.http[0].timeout, at1.body.metadata.resourceVersion], [200, '5s', '1']);
    const listed = await call('GET', '/api/v1/resources?kind=VirtualService&at=1');
    assert.deepEqual([listed.body.revision, listed.body.items.length], [1, 1]);
    assert.deepEqual((await call('GET', '/api/v1/resources?at=0')).body, { revision: 0, items: [] });
    const bad = await call('GET', `${path}?at=yesterday`);
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'BAD_REQUEST']);
    const future = await call('GET', `${path}?at=99`);
    assert.deepEqual([future.status, future.body.error.message], [400, 'revision 99 is not between 0 and the current revision 2']);
    const missing = await call('GET', `${path}?at=0`);
    assert.equal(missing.status, 404);

    const rolled = await call('POST', '/api/v1/rollback/VirtualService/default/r', { body: { to: 1 } });
    assert.deepEqual([rolled.status, rolled.body], [200, { revision: 1, result: 'configured' }]);
    assert.equal((await call('GET', path)).body.spec.http[0].timeout, '5s');
    const history = await call('GET', '/api/v1/history/VirtualService/default/r');
    assert.deepEqual(
      history.body.revisions.map((r: { revision: number; verb: string; actor: unknown }) => [r.revision, r.verb, r.actor]),
      [
        [1, 'create', { name: 'admin', credentialId: adminId() }],
        [2, 'update', { name: 'admin', credentialId: adminId() }],
        [3, 'update', { name: 'admin', credentialId: adminId() }],
      ],
    );
    // Back to before it existed: the rollback deletes it.
    const undone = await call('POST', '/api/v1/rollback/VirtualService/default/r', { body: { to: 0 } });
    assert.deepEqual([undone.status, undone.body], [200, { revision: 0, result: 'deleted' }]);
    assert.equal((await call('GET', path)).status, 404);
    const noBody = await call('POST', '/api/v1/rollback/VirtualService/default/r', { body: {} });
    assert.deepEqual([noBody.status, noBody.body.error.code], [400, 'BAD_REQUEST']);
    assert.equal((await call('GET', '/api/v1/history/VirtualService/default/ghost')).status, 404);
  });

  test('refused calls are audit entries; a read of something missing is not', async () => {
    const before = (await refusals()).length;
    await call('GET', '/api/v1/resources', { secret: null });
    await call('POST', '/api/v1/apply', { secret: api.viewerSecret, body: { resources: [vs('1s')] } });
    await call('POST', '/api/v1/apply', { body: { resources: [{ kind: 'VirtualService' }] } });
    await call('GET', '/api/v1/resources/VirtualService/default/nothing');
    assert.deepEqual((await refusals()).slice(before), [
      [null, 'GET', '/api/v1/resources', 401, 'UNAUTHENTICATED'],
      ['dashboard', 'POST', '/api/v1/apply', 403, 'FORBIDDEN'],
      ['admin', 'POST', '/api/v1/apply', 400, 'CONFIG_INVALID'],
    ]);
  });

  test('unauthenticated calls reach the chain once per source and interval, then as one counted entry', async () => {
    // A new interval, so that the 401 of the test before is not counted with these.
    api.clock.now += 60_000;
    const before = (await api.store.auditLog({ type: 'refusal' })).length;
    for (let i = 0; i < 40; i++) await call('GET', '/api/v1/resources', { secret: i % 2 === 0 ? null : 'weft_0000000000000000_x' });
    const entries = async () => (await api.store.auditLog({ type: 'refusal' })).slice(before).map((e) => (e.type === 'refusal' ? [e.status, e.source, e.count ?? 1] : []));
    assert.deepEqual(await entries(), [[401, '127.0.0.1', 1]]);
    api.clock.now += 60_000;
    await call('GET', '/api/v1/resources', { secret: null });
    assert.deepEqual(await entries(), [
      [401, '127.0.0.1', 1],
      [401, '127.0.0.1', 39],
      [401, '127.0.0.1', 1],
    ]);
    const [, summary] = (await api.store.auditLog({ type: 'refusal' })).slice(before);
    assert.ok(summary?.type === 'refusal');
    assert.deepEqual([summary.reason, summary.firstTime, summary.lastTime], [
      '39 more unauthenticated calls from 127.0.0.1 (last: the credential is not valid)',
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
    api.clock.now += 60_000;
  });

  test('audit/log filters by type, resource kind and since (revision or time)', async () => {
    const all = (await call('GET', '/api/v1/audit/log')).body.entries as { seq: number; type: string; time: string }[];
    const seqs = async (q: string) => ((await call('GET', `/api/v1/audit/log?${q}`)).body.entries as { seq: number }[]).map((e) => e.seq);
    assert.deepEqual(await seqs('kind=refusal'), all.filter((e) => e.type === 'refusal').map((e) => e.seq));
    assert.deepEqual(await seqs('kind=VirtualService'), all.filter((e) => e.type === 'change').map((e) => e.seq));
    assert.deepEqual(await seqs('since=3'), all.slice(3).map((e) => e.seq));
    const third = all[2];
    assert.ok(third);
    assert.deepEqual(await seqs(`since=${encodeURIComponent(third.time)}`), all.filter((e) => e.time >= third.time).map((e) => e.seq));
    assert.equal((await call('GET', '/api/v1/audit/log?since=tomorrow')).status, 400);
  });
});

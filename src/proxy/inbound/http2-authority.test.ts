/**
 * HTTP/2's authority at a sidecar's inbound listener, as Envoy answers it: a duplicated `:authority` or `host` is a
 * malformed request (RFC 9113 §8.1.1: the stream is reset with PROTOCOL_ERROR); with both `:authority` and a `host`
 * that differs, `:authority` wins and the `host` is discarded (RFC 9113 §8.3.1; Envoy's `http2_discard_host_header`),
 * for policy as for the app. Frames are written byte by byte so no client library can merge or drop a field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startH2App } from '../h2-app.fixture.js';
import type { H2App } from '../h2-app.fixture.js';
import { rawH2Request } from '../raw-request.fixture.js';

const PROTOCOL_ERROR = 1;
const BASE: Array<[string, string]> = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/get'],
];

let h2: H2App;
before(async () => {
  h2 = await startH2App();
});
after(async () => {
  await h2.close();
});

describe('HTTP/2 authority at the inbound listener', () => {
  test('one :authority is served; the app sees it', async () => {
    h2.setPolicies([]);
    assert.deepEqual(await rawH2Request(h2.inboundPort, [...BASE, [':authority', 'api:8080']]), { kind: 'response', status: 200, body: 'GET api:8080 -' });
  });

  test('a host field alone stands for the authority', async () => {
    h2.setPolicies([]);
    assert.deepEqual(await rawH2Request(h2.inboundPort, [...BASE, ['host', 'api:8080']]), { kind: 'response', status: 200, body: 'GET api:8080 -' });
  });

  const malformed: Array<[string, Array<[string, string]>]> = [
    ['two :authority fields', [[':authority', 'api:8080'], [':authority', 'admin.example']]],
    ['the same :authority twice', [[':authority', 'api:8080'], [':authority', 'api:8080']]],
    ['two host fields', [['host', 'api:8080'], ['host', 'admin.example']]],
  ];
  for (const [name, fields] of malformed) {
    test(`${name}: the stream is reset with PROTOCOL_ERROR and the app sees nothing`, async () => {
      h2.setPolicies([]);
      const before = h2.seenByApp.length;
      assert.deepEqual(await rawH2Request(h2.inboundPort, [...BASE, ...fields]), { kind: 'reset', code: PROTOCOL_ERROR });
      assert.equal(h2.seenByApp.length, before);
    });
  }

  test(':authority and a differing host: :authority wins and the host never reaches the app', async () => {
    h2.setPolicies([]);
    assert.deepEqual(await rawH2Request(h2.inboundPort, [...BASE, [':authority', 'api:8080'], ['host', 'admin.example']]), {
      kind: 'response',
      status: 200,
      body: 'GET api:8080 -',
    });
  });

  test(':authority and a differing host: policy judges the :authority', async () => {
    h2.setPolicies([
      { namespace: 'default', name: 'deny-admin', annotations: {}, spec: { action: 'DENY', rules: [{ to: [{ operation: { hosts: ['admin.example'] } }] }] } },
    ]);
    const before = h2.seenByApp.length;
    // A DENY on the :authority holds whatever host says; a host naming the denied authority changes nothing.
    const denied = await rawH2Request(h2.inboundPort, [...BASE, [':authority', 'admin.example'], ['host', 'api:8080']]);
    assert.deepEqual(denied, { kind: 'response', status: 403, body: 'RBAC: access denied\n' });
    assert.equal(h2.seenByApp.length, before);
    const allowed = await rawH2Request(h2.inboundPort, [...BASE, [':authority', 'api:8080'], ['host', 'admin.example']]);
    assert.deepEqual(allowed, { kind: 'response', status: 200, body: 'GET api:8080 -' });
  });
});

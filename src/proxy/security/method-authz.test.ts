/**
 * An AuthorizationPolicy on `methods: ["GET"]` judges the request's real method: a verb in another case is a 400
 * (Istio's normalisation; the HTTP/2 bypass of GHSA-w44g-8m76-8gc5), and a method-override header changes nothing.
 * HTTP/2 requests are written byte by byte where the method's case is under test, so no client library can
 * upper-case it; HTTP/1.1 ones on a raw socket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { startH2App } from '../h2-app.fixture.js';
import type { H2App } from '../h2-app.fixture.js';
import { startHttpbinMesh } from '../httpbin-mesh.fixture.js';
import type { HttpbinMesh } from '../httpbin-mesh.fixture.js';
import { rawH2Request, rawHttp1, statusOf } from '../raw-request.fixture.js';

type Policy = ProxyConfig['security']['authorizationPolicies'][number];

const policy = (action: 'ALLOW' | 'DENY'): Policy => ({
  namespace: 'default',
  name: `${action.toLowerCase()}-get`,
  annotations: {},
  spec: { action, rules: [{ to: [{ operation: { methods: ['GET'] } }] }] },
});

const OVERRIDES = ['x-http-method-override', 'x-method-override', 'x-http-method'];
const OTHER_CASES = ['get', 'Get', 'gET', 'GeT'];

/** One HTTP/2 request through node's client, for cases where the method is upper case and only headers vary. */
function h2Call(method: string, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${h2.inboundPort}`);
    session.on('error', reject);
    const req = session.request({ ':method': method, ':path': '/anything', ...headers });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve({ status, body });
    });
    req.end(method === 'GET' ? undefined : 'payload');
  });
}

const h2Fields = (method: string): Array<[string, string]> => [
  [':method', method],
  [':scheme', 'http'],
  [':path', '/anything'],
  [':authority', 'api:8080'],
];

let h2: H2App;
let mesh: HttpbinMesh;

before(async () => {
  h2 = await startH2App();
  mesh = await startHttpbinMesh();
});
after(async () => {
  await h2.close();
  await mesh.close();
});

describe('methods: ["GET"] over HTTP/2', () => {
  for (const action of ['ALLOW', 'DENY'] as const) {
    test(`${action}: GET in any other case is a 400 and never reaches the app`, async () => {
      h2.setPolicies([policy(action)]);
      const before = h2.seenByApp.length;
      for (const method of [...OTHER_CASES, 'post', 'delete']) {
        const a = await rawH2Request(h2.inboundPort, h2Fields(method));
        assert.deepEqual(a, { kind: 'response', status: 400, body: 'bad request: method not in upper case\n' }, method);
      }
      assert.equal(h2.seenByApp.length, before);
    });
  }

  test('with no policy at all a lower-case method is still a 400 (the app must not meet it)', async () => {
    h2.setPolicies([]);
    const a = await rawH2Request(h2.inboundPort, h2Fields('get'));
    assert.deepEqual(a, { kind: 'response', status: 400, body: 'bad request: method not in upper case\n' });
    const b = await rawH2Request(h2.inboundPort, h2Fields('GET'));
    assert.deepEqual(b, { kind: 'response', status: 200, body: 'GET api:8080 -' });
  });

  test('ALLOW: GET is served; POST with a method-override header naming GET is denied (403)', async () => {
    h2.setPolicies([policy('ALLOW')]);
    assert.deepEqual(await h2Call('GET', {}), { status: 200, body: `GET 127.0.0.1:${h2.inboundPort} -` });
    for (const header of OVERRIDES) {
      assert.deepEqual(await h2Call('POST', { [header]: 'GET' }), { status: 403, body: 'RBAC: access denied\n' }, header);
    }
  });

  test('DENY: GET is denied; POST with a method-override header naming GET is judged as the POST it is', async () => {
    h2.setPolicies([policy('DENY')]);
    assert.deepEqual(await h2Call('GET', {}), { status: 403, body: 'RBAC: access denied\n' });
    assert.deepEqual(await h2Call('GET', { 'x-http-method-override': 'POST' }), { status: 403, body: 'RBAC: access denied\n' });
    for (const header of OVERRIDES) {
      assert.deepEqual(await h2Call('POST', { [header]: 'GET' }), { status: 200, body: `POST 127.0.0.1:${h2.inboundPort} -` }, header);
    }
  });
});

describe('methods: ["GET"] over HTTP/1.1', () => {
  const send = (method: string, extra = ''): Promise<string> =>
    rawHttp1(mesh.inboundPort, `${method} /anything HTTP/1.1\r\nhost: httpbin:8000\r\n${extra}content-length: 0\r\nconnection: close\r\n\r\n`);

  for (const action of ['ALLOW', 'DENY'] as const) {
    test(`${action}: GET in any other case is a 400 and never reaches the app`, async () => {
      mesh.setSidecarPolicies([policy(action)]);
      const before = mesh.seenByApp.length;
      for (const method of OTHER_CASES) assert.equal(statusOf(await send(method)), 400, method);
      assert.equal(mesh.seenByApp.length, before);
    });
  }

  test('ALLOW: GET is served; POST with a method-override header naming GET is denied (403)', async () => {
    mesh.setSidecarPolicies([policy('ALLOW')]);
    assert.match(await send('GET'), /^HTTP\/1\.1 200 [^]*\r\n\r\nGET httpbin:8000 \/anything$/);
    for (const header of OVERRIDES) {
      const got = await send('POST', `${header}: GET\r\n`);
      assert.equal(statusOf(got), 403, header);
      assert.match(got, /\r\n\r\nRBAC: access denied\n$/);
    }
  });

  test('DENY: GET is denied; POST with a method-override header naming GET is judged as the POST it is', async () => {
    mesh.setSidecarPolicies([policy('DENY')]);
    assert.equal(statusOf(await send('GET')), 403);
    for (const header of OVERRIDES) {
      assert.match(await send('POST', `${header}: GET\r\n`), /^HTTP\/1\.1 200 [^]*\r\n\r\nPOST httpbin:8000 \/anything$/, header);
    }
  });
});

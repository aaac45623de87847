import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { isWeftError } from '../../src/errors.js';
import { startLocalPod } from '../local-pod.js';
import type { LocalPod } from '../local-pod.js';
import { chooseStatus, echoBody, echoHeaders, multiDict, titleCaseHeader } from './httpbin-echo.js';

const app = (name: string): URL => new URL(`./${name}.js`, import.meta.url);

describe('httpbin echo shapes', () => {
  test('header names are Title-Case, repeated headers joined with commas', () => {
    const cases: [string, string][] = [
      ['x-request-id', 'X-Request-Id'],
      ['USER-AGENT', 'User-Agent'],
      ['host', 'Host'],
      ['x-b3-traceid', 'X-B3-Traceid'],
      ['x-forwarded-client-cert', 'X-Forwarded-Client-Cert'],
    ];
    for (const [raw, want] of cases) assert.equal(titleCaseHeader(raw), want, raw);
    assert.deepEqual(echoHeaders(['accept', 'a', 'Accept', 'b', 'host', 'h']), { Accept: 'a,b', Host: 'h' });
  });

  test('args and form fields: one value is a string, repeats are a list', () => {
    assert.deepEqual(multiDict(new URLSearchParams('a=1&b=2&a=3&c=')), { a: ['1', '3'], b: '2', c: '' });
  });

  test('bodies: url-encoded into form, anything else into data, JSON parsed when it parses', () => {
    const cases: [string | undefined, string, unknown][] = [
      ['application/x-www-form-urlencoded; charset=utf-8', 'x=1&y=2', { data: '', form: { x: '1', y: '2' }, json: null, files: {} }],
      ['application/json', '{"k":[1,2]}', { data: '{"k":[1,2]}', form: {}, json: { k: [1, 2] }, files: {} }],
      ['text/plain', 'hello', { data: 'hello', form: {}, json: null, files: {} }],
      [undefined, '', { data: '', form: {}, json: null, files: {} }],
    ];
    for (const [type, body, want] of cases) assert.deepEqual(echoBody(type, Buffer.from(body)), want, `${type}`);
  });

  test('/status codes: single, uniform choice, weighted choice, and invalid specs', () => {
    const cases: [string, number, number][] = [
      ['418', 0.99, 418],
      ['200,503', 0.0, 200],
      ['200,503', 0.49, 200],
      ['200,503', 0.5, 503],
      ['200,503', 0.99, 503],
      ['200:0.9,503:0.1', 0.89, 200],
      ['200:0.9,503:0.1', 0.91, 503],
      ['500:0,204:1', 0.0, 204],
    ];
    for (const [spec, r, want] of cases) assert.equal(chooseStatus(spec, () => r), want, `${spec} @ ${r}`);
    for (const bad of ['abc', '99', '600', '200,x', '200:-1', '', '2000']) {
      assert.throws(() => chooseStatus(bad, () => 0), (err) => isWeftError(err, 'BAD_REQUEST') && err.status === 400, bad);
    }
  });
});

describe('httpbin process', () => {
  let httpbin: LocalPod;
  const pods: LocalPod[] = [];

  before(async () => {
    httpbin = await startLocalPod(app('httpbin'), { POD_NAME: 'httpbin-1' });
    pods.push(httpbin);
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.stop()));
  });

  const json = async (path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${httpbin.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('/get echoes args, Title-Case headers, origin and url', async () => {
    const { status, body } = await json('/get?show_env=1&a=x&a=y', { headers: { 'x-request-id': 'abc' } });
    assert.equal(status, 200);
    assert.deepEqual(body.args, { show_env: '1', a: ['x', 'y'] });
    const headers = body.headers as Record<string, string>;
    assert.equal(headers['X-Request-Id'], 'abc');
    assert.equal(headers.Host, new URL(httpbin.url).host);
    assert.equal(body.origin, '127.0.0.1');
    assert.equal(body.url, `${httpbin.url}/get?show_env=1&a=x&a=y`);
    assert.equal((await fetch(`${httpbin.url}/get`, { method: 'POST' })).status, 405);
  });

  test('/headers returns only the headers; /ip the origin; /ip honours X-Forwarded-For', async () => {
    const { body } = await json('/headers', { headers: { 'End-User': 'jason' } });
    assert.deepEqual(Object.keys(body), ['headers']);
    assert.equal((body.headers as Record<string, string>)['End-User'], 'jason');
    assert.deepEqual((await json('/ip')).body, { origin: '127.0.0.1' });
    assert.deepEqual((await json('/ip', { headers: { 'x-forwarded-for': '10.1.2.3' } })).body, { origin: '10.1.2.3' });
  });

  test('/status answers the code asked for, with httpbin\'s extra headers', async () => {
    const cases: [string, number, Record<string, string>][] = [
      ['/status/200', 200, {}],
      ['/status/503', 503, {}],
      ['/status/418', 418, { 'x-more-info': 'http://tools.ietf.org/html/rfc2324' }],
      ['/status/302', 302, { location: '/redirect/1' }],
      ['/status/401', 401, { 'www-authenticate': 'Basic realm="Fake Realm"' }],
      ['/status/nope', 400, {}],
    ];
    for (const [path, code, headers] of cases) {
      const res = await fetch(`${httpbin.url}${path}`, { method: 'PUT', redirect: 'manual' });
      await res.arrayBuffer();
      assert.equal(res.status, code, path);
      for (const [name, value] of Object.entries(headers)) assert.equal(res.headers.get(name), value, `${path} ${name}`);
    }
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${httpbin.url}/status/201,202`);
      await res.arrayBuffer();
      seen.add(res.status);
    }
    assert.deepEqual([...seen].sort(), [201, 202]);
  });

  test('/delay waits, at most 10 s', async () => {
    const started = Date.now();
    const { status, body } = await json('/delay/0.3?q=1');
    assert.equal(status, 200);
    assert.ok(Date.now() - started >= 280, 'waited');
    assert.deepEqual(body.args, { q: '1' });
    assert.equal((await json('/delay/abc')).status, 400);
    // 1000 s is capped at 10 s: give up after 1 s and check the server still serves others meanwhile.
    const slow = fetch(`${httpbin.url}/delay/1000`, { signal: AbortSignal.timeout(1000) }).catch((err: Error) => err.name);
    assert.equal((await json('/get')).status, 200);
    assert.equal(await slow, 'TimeoutError');
  });

  test('/anything echoes any method, path, body and JSON', async () => {
    const cases: [string, string, Record<string, string>, string, Record<string, unknown>][] = [
      ['POST', '/anything', { 'content-type': 'application/json' }, '{"a":1}', { data: '{"a":1}', json: { a: 1 }, form: {} }],
      ['PUT', '/anything/deep/path?x=1', { 'content-type': 'text/plain' }, 'plain', { data: 'plain', json: null, args: { x: '1' } }],
      ['PATCH', '/anything', { 'content-type': 'application/x-www-form-urlencoded' }, 'u=1&u=2', { data: '', form: { u: ['1', '2'] } }],
      ['DELETE', '/anything/x', {}, '', { data: '', json: null, files: {} }],
    ];
    for (const [method, path, headers, body, want] of cases) {
      const res = await json(path, { method, headers, body: body === '' ? undefined : body });
      assert.equal(res.status, 200, path);
      assert.equal(res.body.method, method);
      assert.equal(res.body.url, `${httpbin.url}${path}`);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(res.body[k], v, `${method} ${path} ${k}`);
    }
  });

  test('request bodies over 1 MiB are refused with 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${httpbin.url}/anything`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // Streamed without a length, so the limit is enforced while reading, not from the header.
      req.write(Buffer.alloc(700 * 1024));
      req.end(Buffer.alloc(400 * 1024));
    });
    assert.equal(status, 413);
    const declared = await fetch(`${httpbin.url}/anything`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024) });
    assert.equal(declared.status, 413);
  });

  test('httpbin and sleep exit 0 on SIGTERM', async () => {
    const bin = await startLocalPod(app('httpbin'), {});
    assert.deepEqual(await bin.stop(), { code: 0, signal: null });
    const sleeper = await startLocalPod(app('sleep'), { POD_NAME: 'sleep-1' }, { waitFor: /sleep ready/ });
    assert.equal(sleeper.child.exitCode, null, 'sleep keeps running until told');
    assert.deepEqual(await sleeper.stop(), { code: 0, signal: null });
  });
});

describe('httpbin manifests', () => {
  const load = async (name: string) =>
    parseAllDocuments(await readFile(new URL(`../../../examples/httpbin/${name}`, import.meta.url), 'utf8')).map((d) => d.toJS() as unknown);

  test('httpbin.yaml and sleep.yaml: Services and Workloads as in Istio', async () => {
    assert.deepEqual(await load('httpbin.yaml'), [
      {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'httpbin', labels: { app: 'httpbin', service: 'httpbin' } },
        spec: { ports: [{ name: 'http', port: 8000, targetPort: 8080 }], selector: { app: 'httpbin' } },
      },
      {
        apiVersion: 'weft.dev/v1alpha1', kind: 'Workload',
        metadata: { name: 'httpbin', labels: { app: 'httpbin', version: 'v1' } },
        spec: { serviceAccount: 'httpbin', command: ['node', 'dist/examples/httpbin/httpbin.js'], ports: [{ name: 'http', containerPort: 8080 }] },
      },
    ]);
    assert.deepEqual(await load('sleep.yaml'), [
      {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'sleep', labels: { app: 'sleep', service: 'sleep' } },
        spec: { ports: [{ port: 80, name: 'http' }], selector: { app: 'sleep' } },
      },
      {
        apiVersion: 'weft.dev/v1alpha1', kind: 'Workload',
        metadata: { name: 'sleep', labels: { app: 'sleep' } },
        spec: { serviceAccount: 'sleep', command: ['node', 'dist/examples/httpbin/sleep.js'] },
      },
    ]);
  });
});

/**
 * RFC 9112 §3.2: a request with two Host fields is a 400; an absolute-form target's authority replaces the Host
 * (§3.2.2, as Envoy does), for policy as for the app. Checked on the three HTTP/1.1 listeners a client reaches (the ingress
 * gateway, a sidecar's inbound listener and its outbound listener) with bytes written on a raw socket, so that no
 * client library merges or drops the fields under test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpbinMesh } from '../httpbin-mesh.fixture.js';
import type { HttpbinMesh } from '../httpbin-mesh.fixture.js';
import { rawHttp1, statusOf } from '../raw-request.fixture.js';

let mesh: HttpbinMesh;
before(async () => {
  mesh = await startHttpbinMesh();
});
after(async () => {
  await mesh.close();
});

type Listener = 'gateway' | 'inbound' | 'outbound';
const portOf = (l: Listener): number => (l === 'gateway' ? mesh.gatewayPort : l === 'inbound' ? mesh.inboundPort : mesh.outboundPort);
const LISTENERS: Listener[] = ['gateway', 'inbound', 'outbound'];

function request(target: string, headerLines: string[]): string {
  return `GET ${target} HTTP/1.1\r\n${headerLines.map((h) => `${h}\r\n`).join('')}connection: close\r\n\r\n`;
}

describe('Host fields on every HTTP/1.1 listener', () => {
  for (const listener of LISTENERS) {
    test(`${listener}: one Host is served (200, the app sees it)`, async () => {
      const got = await rawHttp1(portOf(listener), request('/get', ['Host: httpbin:8000']));
      assert.equal(statusOf(got), 200, got);
      assert.match(got, /\r\n\r\nGET httpbin:8000 \/get$/);
    });

    const twoHosts: Array<[string, string[]]> = [
      ['the same value twice', ['Host: httpbin:8000', 'Host: httpbin:8000']],
      ['two different values', ['Host: httpbin:8000', 'Host: admin.example']],
      ['two spellings of the name', ['Host: httpbin:8000', 'HOST: evil.example']],
      ['with other fields between', ['Host: httpbin:8000', 'x-a: 1', 'host: evil.example']],
      ['an empty second one', ['Host: httpbin:8000', 'Host:']],
    ];
    for (const [name, lines] of twoHosts) {
      test(`${listener}: two Host fields (${name}) are a 400 and the connection closes; the app sees nothing`, async () => {
        const before = mesh.seenByApp.length;
        const got = await rawHttp1(portOf(listener), request('/get', lines));
        assert.equal(statusOf(got), 400, got);
        assert.match(got, /bad request: more than one Host header\n$/);
        assert.match(got, /\r\nconnection: close\r\n/i);
        assert.equal(mesh.seenByApp.length, before);
      });
    }
  }

  for (const listener of ['inbound', 'outbound'] as const) {
    test(`${listener}: an absolute-form target's authority replaces a Host that names another (RFC 9112 §3.2.2, as Envoy)`, async () => {
      for (const host of ['admin.example', 'httpbin:9999', 'HTTPBIN:8000']) {
        const got = await rawHttp1(portOf(listener), request('http://httpbin:8000/get', [`Host: ${host}`]));
        assert.equal(statusOf(got), 200, `${host}: ${got}`);
        assert.match(got, /\r\n\r\nGET httpbin:8000 \/get$/);
      }
    });
  }

  test('inbound: policy judges the authority the app is sent, not a Host the target overrides', async () => {
    mesh.setSidecarPolicies([
      {
        namespace: 'default',
        name: 'deny-admin',
        annotations: {},
        spec: { action: 'DENY', rules: [{ to: [{ operation: { hosts: ['admin.example', 'admin.example:8000'] } }] }] },
      },
    ]);
    try {
      const before = mesh.seenByApp.length;
      const got = await rawHttp1(mesh.inboundPort, request('http://admin.example:8000/get', ['Host: httpbin:8000']));
      assert.equal(statusOf(got), 403, got);
      assert.match(got, /\r\n\r\nRBAC: access denied\n$/);
      assert.equal(mesh.seenByApp.length, before);
      const allowed = await rawHttp1(mesh.inboundPort, request('http://httpbin:8000/get', ['Host: admin.example:8000']));
      assert.equal(statusOf(allowed), 200, allowed);
      assert.match(allowed, /\r\n\r\nGET httpbin:8000 \/get$/);
    } finally {
      mesh.setSidecarPolicies([]);
    }
  });

  test('gateway: an absolute-form target is refused (400), whatever the Host says', async () => {
    const got = await rawHttp1(mesh.gatewayPort, request('http://httpbin:8000/get', ['Host: admin.example']));
    assert.equal(statusOf(got), 400, got);
    assert.match(got, /bad request: invalid Host or path\n$/);
  });

  test('outbound: CONNECT with two Host fields is a 400', async () => {
    const got = await rawHttp1(mesh.outboundPort, 'CONNECT httpbin:8000 HTTP/1.1\r\nHost: httpbin:8000\r\nHost: evil.example\r\n\r\n');
    assert.equal(statusOf(got), 400, got);
    assert.match(got, /bad request: more than one Host header\n$/);
  });
});

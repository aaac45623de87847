/**
 * The Kubernetes Gateway API on a real mesh: a Gateway of class `istio` is served by the mesh's ingress gateway,
 * and an HTTPRoute's weighted split, header match, redirect and rewrite reach httpbin through it; `weft get` shows
 * the status the control plane computes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

const picked = (name: string, value: string): string => `filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: X-Picked, value: ${value} }] } }]`;

const GATEWAY_API = `apiVersion: v1
kind: Service
metadata: { name: httpbin-b, namespace: default }
spec:
  selector: { app: httpbin }
  ports: [{ name: http, port: 8000, targetPort: 8080 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: default }
spec:
  gatewayClassName: istio
  listeners:
  - { name: http, port: 80, protocol: HTTP, hostname: "*.example.com" }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: httpbin, namespace: default }
spec:
  parentRefs: [{ name: web, sectionName: http }]
  hostnames: [httpbin.example.com]
  rules:
  - matches: [{ path: { type: PathPrefix, value: /split } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /headers } } }]
    backendRefs:
    - { name: httpbin, port: 8000, weight: 1, ${picked('a', 'a')} }
    - { name: httpbin-b, port: 8000, weight: 1, ${picked('b', 'b')} }
  - matches: [{ path: { type: PathPrefix, value: /headers }, headers: [{ name: x-variant, value: b }] }]
    backendRefs: [{ name: httpbin-b, port: 8000, ${picked('b', 'b')} }]
  - matches: [{ path: { type: PathPrefix, value: /old } }]
    filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 } }]
  - backendRefs: [{ name: httpbin, port: 8000, ${picked('a', 'default')} }]
`;

describe('Gateway API through the ingress gateway', () => {
  let mesh: MeshRun;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-gwapi-'));
    fs.writeFileSync(path.join(dir, 'gateway-api.yaml'), GATEWAY_API);
    mesh = await startMesh(['examples/httpbin/httpbin.yaml', dir], { isolation: 'none' });
  });
  after(async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = async (p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; location: string | undefined }> => {
    const r = await request(`http://127.0.0.1:${mesh.ingressPort}${p}`, { headers: { host: 'httpbin.example.com', ...headers } });
    const location = r.headers['location'];
    return { status: r.statusCode, body: await r.body.text(), location: typeof location === 'string' ? location : undefined };
  };
  const pickedOf = (body: string): string | undefined => (JSON.parse(body) as { headers: Record<string, string> }).headers['X-Picked'];

  test('a header match picks its backend', async () => {
    const r = await eventually('the route served', async () => {
      const res = await get('/headers', { 'x-variant': 'b' });
      return res.status === 200 ? res : undefined;
    });
    assert.equal(pickedOf(r.body), 'b');
    assert.equal(pickedOf((await get('/headers')).body), 'default', 'without the header: the catch-all rule');
  });

  test('a weighted split reaches both backends, the path rewritten', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const r = await get('/split/anything');
      assert.equal(r.status, 200, r.body);
      seen.add(pickedOf(r.body) ?? '?');
    }
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  test('a redirect replaces the matched prefix', async () => {
    const r = await get('/old/path?q=1');
    assert.equal(r.status, 301);
    assert.equal(r.location, 'http://httpbin.example.com/new/path?q=1');
    const other = await get('/oldish');
    assert.deepEqual([other.status, other.location], [404, undefined], 'PathPrefix /old does not match /oldish: httpbin answers it (it has no such page)');
  });

  test('a host the listener does not serve gets 404', async () => {
    assert.equal((await get('/headers', { host: 'other.org' })).status, 404);
  });

  test('weft get shows the computed status', async () => {
    const route = await mesh.weft(['get', 'httproute', 'httpbin', '-o', 'json']);
    assert.equal(route.code, 0, route.stderr);
    const status = (JSON.parse(route.stdout) as { status: { parents: { conditions: { type: string; status: string }[] }[] } }).status;
    assert.deepEqual(status.parents[0]?.conditions.map((c) => `${c.type}=${c.status}`), ['Accepted=True', 'ResolvedRefs=True']);
    const gw = await mesh.weft(['get', 'gtw']);
    assert.equal(gw.code, 0, gw.stderr);
    assert.match(gw.stdout, /^NAME\s+CLASS\s+PROGRAMMED\s+AGE\nweb\s+istio\s+True\s+/);
    const yaml = await mesh.weft(['get', 'gateways.gateway.networking.k8s.io', 'web', '-o', 'yaml']);
    assert.match(yaml.stdout, /^kind: Gateway$/m);
    assert.match(yaml.stdout, /attachedRoutes: 1/);
  });
});

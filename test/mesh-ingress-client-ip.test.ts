/**
 * The client's address at the ingress gateway, for real: Istio's ingress-policy task (an ALLOW policy on the
 * gateway with remoteIpBlocks) behind trusted proxies set per gateway (the proxy.istio.io/config annotation) and
 * mesh-wide (MeshConfig defaultConfig.gatewayTopology), the headers the gateway sends upstream, and a sidecar that
 * keeps ignoring X-Forwarded-For from a mesh caller.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

const GATEWAY = (annotation: string | null): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: httpbin-gateway
  namespace: default
${annotation === null ? '' : `  annotations:\n    proxy.istio.io/config: '${annotation}'\n`}spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["*"]
`;

const ROUTES = `${GATEWAY(null)}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: ["*"]
  gateways: [httpbin-gateway]
  http:
  - route: [{ destination: { host: httpbin, port: { number: 8000 } } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress-policy, namespace: weft-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: ALLOW
  rules:
  - from:
    - source:
        remoteIpBlocks: ["1.2.3.4", "5.6.7.0/24"]
`;

describe('ingress gateway: numTrustedProxies, remoteIpBlocks and X-Forwarded-For', () => {
  let mesh: MeshRun;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-xff-'));
    fs.writeFileSync(path.join(dir, 'ingress.yaml'), ROUTES);
    mesh = await startMesh(['examples/httpbin', dir], { isolation: 'none' });
  });
  after(async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const apply = async (yaml: string): Promise<void> => {
    const r = await mesh.weft(['apply', '-f', '-'], yaml);
    assert.equal(r.code, 0, r.stderr);
  };
  const viaIngress = async (headers: Record<string, string> = {}): Promise<{ status: number; body: string }> => {
    const r = await request(`http://127.0.0.1:${mesh.ingressPort}/headers`, { headers: { host: 'httpbin.example.com', ...headers } });
    return { status: r.statusCode, body: await r.body.text() };
  };
  const seenHeaders = (body: string): Record<string, string> => (JSON.parse(body) as { headers: Record<string, string> }).headers;

  test('no trusted proxies (Istio\'s default): X-Forwarded-For is not the client, the policy denies', async () => {
    const r = await eventually('the gateway serving with the policy', async () => {
      const res = await viaIngress({ 'x-forwarded-for': '1.2.3.4' });
      return res.status === 403 ? res : undefined;
    });
    assert.equal(r.body.trim(), 'RBAC: access denied');
  });

  test('one trusted proxy on the Gateway (proxy.istio.io/config): the last XFF entry is the client', async () => {
    await apply(GATEWAY('{"gatewayTopology": {"numTrustedProxies": 1}}'));
    const allowed = await eventually('XFF trusted', async () => {
      const res = await viaIngress({ 'x-forwarded-for': '1.2.3.4' });
      return res.status === 200 ? res : undefined;
    });
    const seen = seenHeaders(allowed.body);
    assert.equal(seen['X-Envoy-External-Address'], '1.2.3.4');
    assert.equal(seen['X-Forwarded-For'], '1.2.3.4, 127.0.0.1', 'one header: the client\'s list with the peer appended');
    assert.equal((await viaIngress({ 'x-forwarded-for': '5.6.7.9' })).status, 200, 'a client in the listed CIDR');
    assert.equal((await viaIngress({ 'x-forwarded-for': '8.8.8.8' })).status, 403, 'another client');
    assert.equal((await viaIngress({ 'x-forwarded-for': '1.2.3.4, 8.8.8.8' })).status, 403, 'an entry forged before the trusted one');
    assert.equal((await viaIngress()).status, 403, 'no XFF: the peer is the client');
    assert.equal((await viaIngress({ 'x-envoy-external-address': '1.2.3.4' })).status, 403, 'x-envoy-external-address from a client is not trusted');
  });

  test('x-envoy-external-address from a client is replaced by the trusted client address', async () => {
    const r = await viaIngress({ 'x-forwarded-for': '5.6.7.8', 'x-envoy-external-address': '1.2.3.4' });
    assert.equal(r.status, 200);
    assert.equal(seenHeaders(r.body)['X-Envoy-External-Address'], '5.6.7.8');
  });

  test('mesh-wide: MeshConfig defaultConfig.gatewayTopology.numTrustedProxies 2', async () => {
    await apply(GATEWAY(null));
    await apply(`apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh, namespace: weft-system }
spec:
  defaultConfig:
    gatewayTopology: { numTrustedProxies: 2 }
`);
    const r = await eventually('two trusted proxies', async () => {
      const res = await viaIngress({ 'x-forwarded-for': '1.2.3.4, 10.0.0.1' });
      return res.status === 200 ? res : undefined;
    });
    assert.equal(seenHeaders(r.body)['X-Envoy-External-Address'], '1.2.3.4');
    assert.equal((await viaIngress({ 'x-forwarded-for': '1.2.3.4' })).status, 403, 'fewer entries than trusted proxies: the peer');
  });

  test('a sidecar ignores X-Forwarded-For from a mesh caller: remote.ip is the peer', async () => {
    const sleep = mesh.workload('sleep');
    await apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin-remote, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  action: ALLOW
  rules:
  - from:
    - source:
        remoteIpBlocks: ["1.2.3.4"]
  - when:
    - key: remote.ip
      values: ["127.0.0.0/8"]
    to:
    - operation: { paths: ["/ip"] }
`);
    const denied = await eventually('the sidecar policy', async () => {
      const res = await callAs(sleep, 'http://httpbin:8000/headers', { headers: { 'x-forwarded-for': '1.2.3.4' } });
      return res.status === 403 ? res : undefined;
    });
    assert.equal(denied.body.trim(), 'RBAC: access denied');
    const byPeer = await callAs(sleep, 'http://httpbin:8000/ip', { headers: { 'x-forwarded-for': '1.2.3.4' } });
    assert.equal(byPeer.status, 200, 'remote.ip is the calling sidecar\'s loopback address, not the forged 1.2.3.4');
  });
});

/**
 * The ingress gateway parses traffic from outside the mesh, so when `weft up` runs as root it does not: it runs as
 * its own uid with no capabilities, an empty bounding set and no_new_privs, in both isolation modes; only a gateway
 * that binds a port below 1024 keeps CAP_NET_BIND_SERVICE (ambient), and still serves there.
 * Root is required (without it there is nothing to drop); the netns case also needs `ip netns`.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { GATEWAY_UID } from '../src/mesh/pod-commands.js';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { podTestSkipReason, removeMeshObjects } from './support/netns-traces.js';

const notRoot = process.getuid?.() === 0 ? undefined : 'the gateway drops privileges only when weft up runs as root';
const noNetns = notRoot ?? (await podTestSkipReason([]));

const GATEWAY_YAML = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: httpbin-gateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 8080, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: ["*"]
  gateways: [httpbin-gateway]
  http: [{ route: [{ destination: { host: httpbin, port: { number: 8000 } } }] }]
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-gateway-privileges-'));
const gatewayFile = path.join(dir, 'gateway.yaml');
fs.writeFileSync(gatewayFile, GATEWAY_YAML);
const runs: MeshRun[] = [];

after(async () => {
  for (const r of runs) {
    await r.stop();
    // A netns mesh that failed mid-test may have left its namespaces: remove this mesh's, and only its.
    if (!noNetns) await removeMeshObjects(meshDigest(r.stateDir)).catch(() => undefined);
    fs.rmSync(r.stateDir, { recursive: true, force: true });
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What /proc says of a process's identity and privileges. */
function privileges(pid: number): Record<string, string> {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => status.match(new RegExp(`^${name}:[ \\t]*(.*)$`, 'm'))?.[1]?.trim().replace(/\s+/g, ' ') ?? '(missing)';
  return Object.fromEntries(['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs'].map((f) => [f, field(f)]));
}

/** A port below 1024 that nothing on 127.0.0.1 holds right now, from a random start so parallel runs differ. */
async function freePrivilegedPort(): Promise<number> {
  const start = 600 + Math.floor(Math.random() * 300);
  for (let port = start; port < 1024; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${start}..1023`);
}

async function throughGateway(mesh: MeshRun): Promise<{ status: number; host: unknown; xfcc: unknown }> {
  const res = await request(`http://127.0.0.1:${mesh.ingressPort}/get`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const body = (await res.body.json()) as { headers: Record<string, unknown> };
  return { status: res.statusCode, host: body.headers['Host'], xfcc: body.headers['X-Forwarded-Client-Cert'] };
}

const id = `${GATEWAY_UID} ${GATEWAY_UID} ${GATEWAY_UID} ${GATEWAY_UID}`;
const NONE = '0000000000000000';
const NET_BIND_SERVICE = '0000000000000400';

test('loopback: the gateway runs as its own uid with no capabilities and no_new_privs, and serves', { skip: notRoot }, async () => {
  const mesh = await startMesh(['examples/httpbin', gatewayFile], { isolation: 'none' });
  runs.push(mesh);
  const pid = mesh.mesh().gateway?.proxyPid;
  assert.ok(typeof pid === 'number', 'mesh.json names the gateway pid');
  assert.deepEqual(privileges(pid), {
    Uid: id,
    Gid: id,
    Groups: '',
    CapInh: NONE,
    CapPrm: NONE,
    CapEff: NONE,
    CapBnd: NONE,
    CapAmb: NONE,
    NoNewPrivs: '1',
  });
  const r = await throughGateway(mesh);
  assert.equal(r.status, 200);
  assert.equal(r.host, `127.0.0.1:${mesh.ingressPort}`);
  assert.match(String(r.xfcc), /;URI=spiffe:\/\/cluster\.local\/ns\/weft-system\/sa\/weft-ingressgateway$/);
});

test('netns: a gateway on a port below 1024 keeps CAP_NET_BIND_SERVICE alone, and binds it', { skip: noNetns, timeout: 120_000 }, async () => {
  const port = await freePrivilegedPort();
  const mesh = await startMesh(['examples/httpbin', gatewayFile], { isolation: 'netns', extraArgs: ['--ingress-port', String(port)] });
  runs.push(mesh);
  assert.equal(mesh.mesh().isolation, 'netns');
  const pid = mesh.mesh().gateway?.proxyPid;
  assert.ok(typeof pid === 'number', 'mesh.json names the gateway pid');
  assert.deepEqual(privileges(pid), {
    Uid: id,
    Gid: id,
    Groups: '',
    CapInh: NET_BIND_SERVICE,
    CapPrm: NET_BIND_SERVICE,
    CapEff: NET_BIND_SERVICE,
    CapBnd: NET_BIND_SERVICE,
    CapAmb: NET_BIND_SERVICE,
    NoNewPrivs: '1',
  });
  assert.deepEqual(mesh.mesh().gateway?.listeners, { '8080': `127.0.0.1:${port}` });
  const r = await throughGateway({ ...mesh, ingressPort: port });
  assert.equal(r.status, 200);
  assert.equal(r.host, `127.0.0.1:${port}`);
});

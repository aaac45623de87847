/**
 * HTTPS from a loopback workload goes through its sidecar: `weft exec` (like a Workload's own environment) names the
 * sidecar in every proxy variable curl reads, so `curl https://...` asks the sidecar for `CONNECT host:443` and
 * egress policy decides. Under REGISTRY_ONLY an unregistered destination is refused with 502 (Istio's
 * BlackHoleCluster); a ServiceEntry's HTTPS port lets its host through, the TLS session untouched end to end.
 * A TLS server on loopback, outside the mesh, stands in for the internet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

const OUTSIDE_HOST = 'outside.weft.test';

let mesh: MeshRun;
let outside: https.Server;
let outsidePort = 0;
let certDir = '';

before(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-https-egress-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=outside', '-addext', `subjectAltName=DNS:${OUTSIDE_HOST},IP:127.0.0.1`,
    '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem')], { stdio: 'ignore' });
  outside = https.createServer({ cert: fs.readFileSync(path.join(certDir, 'cert.pem')), key: fs.readFileSync(path.join(certDir, 'key.pem')) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`outside-https ${req.method} ${req.headers.host} ${req.url}\n`);
  });
  await new Promise<void>((resolve) => outside.listen(0, '127.0.0.1', resolve));
  outsidePort = (outside.address() as AddressInfo).port;
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
});

after(async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  outside.closeAllConnections();
  await new Promise((r) => outside.close(r));
  fs.rmSync(certDir, { recursive: true, force: true });
});

interface OutboundLine {
  direction: string;
  method: string;
  authority: string;
  status: number;
  upstream?: string;
  reason?: string;
  egress?: { decision: string; protocol: string; serviceEntry?: string };
}

function outboundConnects(authority: string): OutboundLine[] {
  const file = path.join(mesh.stateDir, 'logs', 'default.sleep.sidecar.log');
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"time"') && l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as OutboundLine)
    .filter((e) => e.direction === 'outbound' && e.method === 'CONNECT' && e.authority === authority);
}

const curl = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  mesh.weft(['exec', 'sleep', '--', 'curl', '-sS', '--max-time', '10', '--cacert', path.join(certDir, 'cert.pem'), ...args]);

test('an HTTPS call to a destination the registry does not know is refused by the sidecar (REGISTRY_ONLY)', async () => {
  const authority = `127.0.0.1:${outsidePort}`;
  const r = await curl(`https://${authority}/get`);
  assert.equal(r.stderr, 'curl: (56) CONNECT tunnel failed, response 502\n');
  assert.equal(r.code, 56);
  assert.equal(r.stdout, '');
  const [line] = await eventually('the refusal in sleep’s access log', () => {
    const lines = outboundConnects(authority);
    return lines.length > 0 ? lines : undefined;
  });
  assert.deepEqual(
    { status: line!.status, upstream: line!.upstream, reason: line!.reason, egress: line!.egress },
    { status: 502, upstream: 'BlackHoleCluster', reason: `egress denied: REGISTRY_ONLY, no ServiceEntry for ${authority}`, egress: { decision: 'denied', protocol: 'tcp' } },
  );
});

test('an HTTPS call to a ServiceEntry host passes through the sidecar, TLS end to end', async () => {
  const entry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: outside, namespace: default }
spec:
  hosts: [${OUTSIDE_HOST}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  endpoints: [{ address: 127.0.0.1, ports: { https: ${outsidePort} } }]
`;
  const applied = await mesh.weft(['apply', '-f', '-'], entry);
  assert.equal(applied.stdout, 'serviceentry.networking.istio.io/outside created\n', applied.stderr);
  const r = await eventually('the ServiceEntry in sleep’s config', async () => {
    const res = await curl(`https://${OUTSIDE_HOST}/get`);
    return res.code === 0 ? res : undefined;
  });
  assert.equal(r.stdout, `outside-https GET ${OUTSIDE_HOST} /get\n`);
  assert.equal(r.stderr, '');
  const lines = await eventually('the tunnel in sleep’s access log', () => {
    const found = outboundConnects(`${OUTSIDE_HOST}:443`).filter((l) => l.status === 200);
    return found.length > 0 ? found : undefined;
  });
  assert.deepEqual(
    { upstream: lines[0]!.upstream, egress: lines[0]!.egress },
    { upstream: `127.0.0.1:${outsidePort}`, egress: { decision: 'external', protocol: 'tcp', serviceEntry: 'default/outside' } },
  );
});

test('a loopback Workload’s own environment names its sidecar for every scheme, with no exceptions', () => {
  const sleep = mesh.workload('sleep');
  const environ = fs.readFileSync(`/proc/${sleep.appPid}/environ`, 'utf8').split('\0');
  const get = (name: string): string | undefined => environ.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
  const sidecar = `http://${sleep.outbound}`;
  const names = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY', 'NODE_USE_ENV_PROXY'];
  assert.deepEqual(Object.fromEntries(names.map((n) => [n, get(n)])), {
    http_proxy: sidecar,
    HTTP_PROXY: sidecar,
    https_proxy: sidecar,
    HTTPS_PROXY: sidecar,
    all_proxy: sidecar,
    ALL_PROXY: sidecar,
    no_proxy: '',
    NO_PROXY: '',
    NODE_USE_ENV_PROXY: '1',
  });
});

/**
 * TLS and TCP routes at the ingress gateway in a real mesh: Istio's ingress-sni-passthrough task as written (an
 * HTTPS app with its own certificate, a PASSTHROUGH server, a VirtualService tls route by SNI; curl sees the app's
 * certificate) and a TCP server whose tcp route reaches tcp-echo, both ports published with --publish.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { eventually, REPO_ROOT, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { cleanup } from './support/cleanup.js';
import { freeListenPort } from '../bench/listen-port.js';

const TCP_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: tcp-echo-gateway }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 31400, name: tcp, protocol: TCP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo }
spec:
  hosts: ["*"]
  gateways: [tcp-echo-gateway]
  tcp:
  - match: [{ port: 31400 }]
    route: [{ destination: { host: tcp-echo, port: { number: 9000 } } }]
`;

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
}

describe('TLS passthrough and TCP at the ingress gateway', () => {
  let mesh: MeshRun;
  let dir: string;
  let tlsPort: number;
  let tcpPort: number;
  cleanup('passthrough mesh and files', async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-passthrough-'));
    const certs = path.join(dir, 'nginx_certs');
    execFileSync('sh', [path.join(REPO_ROOT, 'examples/sni-passthrough/make-certs.sh'), certs], { stdio: 'ignore' });
    // The example as written, its certificate paths pointed at this test's own files.
    const example = fs.readFileSync(path.join(REPO_ROOT, 'examples/sni-passthrough/my-nginx.yaml'), 'utf8').replaceAll('examples/sni-passthrough/nginx_certs', certs);
    fs.writeFileSync(path.join(dir, 'my-nginx.yaml'), example);
    fs.writeFileSync(path.join(dir, 'tcp-gateway.yaml'), TCP_GATEWAY);
    tlsPort = await freeListenPort();
    tcpPort = await freeListenPort();
    mesh = await startMesh(['examples/tcp-echo', dir], { isolation: 'none', extraArgs: ['--publish', `443=${tlsPort}`, '--publish', `31400=${tcpPort}`] });
  });

  test("curl --resolve nginx.example.com reaches my-nginx through the gateway and sees the app's certificate", async () => {
    const ca = path.join(dir, 'nginx_certs', 'example.com.crt');
    const r = await eventually('the passthrough route', async () => {
      const res = await curl(['-sv', '--resolve', `nginx.example.com:${tlsPort}:127.0.0.1`, '--cacert', ca, `https://nginx.example.com:${tlsPort}`]);
      return res.code === 0 ? res : undefined;
    });
    assert.match(r.stdout, /^Welcome to my-nginx: TLS terminated by the app for nginx\.example\.com/);
    assert.match(r.stderr, /subject: CN=nginx\.example\.com/);
  });

  test('an SNI the passthrough server does not list is closed', async () => {
    const r = await curl(['-s', '-k', '--resolve', `other.example.com:${tlsPort}:127.0.0.1`, `https://other.example.com:${tlsPort}`]);
    assert.equal(r.code, 1);
  });

  test('the TCP server: tcp-echo answers through the gateway', async () => {
    const line = await eventually('the tcp route', () => new Promise<string | undefined>((resolve) => {
      const s = net.connect(tcpPort, '127.0.0.1', () => s.write('world\n'));
      s.once('data', (d) => {
        resolve(String(d));
        s.destroy();
      });
      s.once('error', () => resolve(undefined));
      s.once('close', () => resolve(undefined));
    }));
    assert.equal(line, 'hello world\n');
  });
});

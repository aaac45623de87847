/**
 * VirtualService tcp and tls routes at the client's sidecar on a real mesh, as Istio's tcp-traffic-shifting task
 * runs them: every connection to v1 first, then 80/20 between v1 and v2 within tolerance, and a tls route that
 * sends a ClientHello naming one host to v2 by its SNI while the rest of the port stays on v1. tcp-echo v1 answers
 * "hello", v2 "two"; the app reaches the service with CONNECT through its sidecar (loopback isolation).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { applyAndSync } from './support/config-sync.js';
import { cleanup } from './support/cleanup.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-tcp-routes-'));
let mesh: MeshRun;
cleanup('mesh-tcp-routes', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

const V2_AND_SUBSETS = `apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: tcp-echo-v2, namespace: default, labels: { app: tcp-echo, version: v2 } }
spec:
  serviceAccount: tcp-echo
  command: ["node", "dist/examples/tcp-echo/tcp-echo.js"]
  env: { PREFIX: two }
  ports: [{ name: tcp, containerPort: 9000 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: tcp-echo-destination, namespace: default }
spec:
  host: tcp-echo
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;

const shift = (v1: number, v2: number): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo, namespace: default }
spec:
  hosts: [tcp-echo]
  tcp:
  - match: [{ port: 9000 }]
    route:
    - { destination: { host: tcp-echo, port: { number: 9000 }, subset: v1 }, weight: ${v1} }
    - { destination: { host: tcp-echo, port: { number: 9000 }, subset: v2 }, weight: ${v2} }
`;

before(async () => {
  fs.writeFileSync(path.join(dir, 'tcp-echo-v2.yaml'), V2_AND_SUBSETS);
  mesh = await startMesh(['examples/httpbin', 'examples/tcp-echo', dir], { isolation: 'none' });
});

/** One connection through sleep's sidecar: CONNECT, then `first` bytes; the first word of the answer. */
function through(first: Buffer): Promise<string> {
  const [host, port] = mesh.workload('sleep').outbound.split(':') as [string, string];
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let tunnel = false;
    const s = net.connect({ host, port: Number(port) }, () => s.write('CONNECT tcp-echo:9000 HTTP/1.1\r\nhost: tcp-echo:9000\r\n\r\n'));
    const done = (word: string): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(word);
    };
    const timer = setTimeout(() => done(''), 5000);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (!tunnel) {
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) return;
        if (!buf.subarray(0, 12).toString().startsWith('HTTP/1.1 200')) return done('refused');
        tunnel = true;
        buf = buf.subarray(at + 4);
        s.write(first);
      }
      const space = buf.indexOf(0x20);
      if (space > 0) done(buf.subarray(0, space).toString('latin1'));
    });
    s.on('error', () => done(''));
    s.on('close', () => done(''));
  });
}

async function tally(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const w = await through(Buffer.from(`line ${i}\n`));
    counts[w] = (counts[w] ?? 0) + 1;
  }
  return counts;
}

/** The ClientHello Node's TLS client sends for a name, captured on loopback. */
function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const t = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername, rejectUnauthorized: false });
      t.on('error', () => undefined);
    });
  });
}

test('all to v1, then 80/20 between v1 and v2 (tcp-traffic-shifting)', async () => {
  await applyAndSync(mesh, 'apply', { yaml: shift(100, 0) }, ['sleep']);
  assert.deepEqual(await tally(10), { hello: 10 });
  await applyAndSync(mesh, 'apply', { yaml: shift(80, 20) }, ['sleep']);
  const n = 100;
  const counts = await tally(n);
  assert.equal((counts['hello'] ?? 0) + (counts['two'] ?? 0), n, `every connection answered by v1 or v2: ${JSON.stringify(counts)}`);
  // 20% of 100 is 20, standard deviation 4: 8..32 is three deviations either side.
  const v2 = counts['two'] ?? 0;
  assert.ok(v2 >= 8 && v2 <= 32, `v2 took ${v2} of ${n}`);
});

test('a tls route sends one SNI to v2; other names and plain TCP stay on v1', async () => {
  await applyAndSync(
    mesh,
    'apply',
    {
      yaml: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo, namespace: default }
spec:
  # Istio requires every SNI host to fall within the VirtualService's hosts.
  hosts: [tcp-echo, "*.example.com"]
  tls:
  - match: [{ port: 9000, sniHosts: [two.example.com] }]
    route: [{ destination: { host: tcp-echo, subset: v2 } }]
  tcp:
  - route: [{ destination: { host: tcp-echo, subset: v1 } }]
`,
    },
    ['sleep'],
  );
  assert.equal(await through(await clientHello('two.example.com')), 'two');
  assert.equal(await through(await clientHello('one.example.com')), 'hello');
  assert.equal(await through(Buffer.from('plain\n')), 'hello');
});

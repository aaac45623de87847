/**
 * Locality load balancing on a real mesh, as Istio's locality tasks run it: a client in r1/z1 and tcp-echo in two
 * zones. With outlier detection the local zone takes every connection while it has endpoints, and the next
 * priority only once it has none (failover); `distribute` splits 80/20 between the zones within tolerance. The
 * workloads say where they are with the labels topology.kubernetes.io/region and topology.kubernetes.io/zone.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { applyAndSync } from './support/config-sync.js';
import { cleanup } from './support/cleanup.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-locality-'));
let mesh: MeshRun;
cleanup('mesh-locality', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

const echo = (name: string, zone: string): string => `apiVersion: weft.dev/v1alpha1
kind: Workload
metadata:
  name: ${name}
  namespace: default
  labels: { app: tcp-echo, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: ${zone} }
spec:
  serviceAccount: tcp-echo
  command: ["node", "dist/examples/tcp-echo/tcp-echo.js"]
  env: { PREFIX: ${zone} }
  ports: [{ name: tcp, containerPort: 9000 }]
`;

const MESH = `apiVersion: v1
kind: Service
metadata: { name: tcp-echo, namespace: default }
spec:
  selector: { app: tcp-echo }
  ports: [{ name: tcp, port: 9000 }]
---
${echo('echo-z1', 'z1')}---
${echo('echo-z2', 'z2')}---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata:
  name: client
  namespace: default
  labels: { app: client, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1 }
spec:
  serviceAccount: client
  command: ["node", "dist/examples/httpbin/sleep.js"]
`;

const rule = (lb: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: tcp-echo, namespace: default }
spec:
  host: tcp-echo
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
${lb}
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 1m }
`;

before(async () => {
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), MESH);
  mesh = await startMesh([dir], { isolation: 'none' });
});

/** One connection through the client's sidecar (CONNECT); the zone that answered. */
function zoneOnce(): Promise<string> {
  const [host, port] = mesh.workload('client').outbound.split(':') as [string, string];
  return new Promise((resolve) => {
    let buf = '';
    let tunnel = false;
    const s = net.connect({ host, port: Number(port) }, () => s.write('CONNECT tcp-echo:9000 HTTP/1.1\r\nhost: tcp-echo:9000\r\n\r\n'));
    const done = (z: string): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(z);
    };
    const timer = setTimeout(() => done(''), 5000);
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      if (!tunnel) {
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) return;
        if (!buf.startsWith('HTTP/1.1 200')) return done('refused');
        tunnel = true;
        buf = buf.slice(at + 4);
        s.write('where\n');
      }
      if (buf.endsWith('\n')) done(buf.split(' ')[0]!);
    });
    s.on('error', () => done(''));
    s.on('close', () => done(''));
  });
}

async function tally(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const z = await zoneOnce();
    counts[z] = (counts[z] ?? 0) + 1;
  }
  return counts;
}

test('distribute 80/20 between the zones', async () => {
  await applyAndSync(
    mesh,
    'apply',
    { yaml: rule("      localityLbSetting:\n        distribute:\n        - from: r1/z1/*\n          to: { 'r1/z1/*': 80, 'r1/z2/*': 20 }") },
    ['client'],
  );
  const counts = await tally(100);
  const z2 = counts['z2'] ?? 0;
  assert.equal((counts['z1'] ?? 0) + z2, 100, JSON.stringify(counts));
  // 20% of 100 is 20, standard deviation 4: 8..32 is three deviations either side.
  assert.ok(z2 >= 8 && z2 <= 32, `z2 took ${z2} of 100`);
});

test('failover: the local zone takes every connection; with no endpoint left there, the next zone', async () => {
  await applyAndSync(mesh, 'apply', { yaml: rule('      localityLbSetting: { enabled: true }') }, ['client']);
  assert.deepEqual(await tally(10), { z1: 10 });
  await applyAndSync(mesh, 'delete', { yaml: echo('echo-z1', 'z1') }, ['client']);
  assert.deepEqual(await tally(10), { z2: 10 });
});

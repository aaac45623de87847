/**
 * `weft up` with an ingress port something else holds: it says so on stderr, naming the flag, the address and the
 * system's reason, and exits 1 within seconds, before starting anything (the gateway would otherwise NACK every
 * config and `weft up` wait out its convergence timeout with the cause only in a log file).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { runWeft } from './support/mesh-process.js';

const GATEWAY_YAML = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: httpbin-gateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 8080, name: http, protocol: HTTP }, hosts: ["*"] }]
`;

let holder: net.Server;
let port = 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-busy-port-'));

before(async () => {
  fs.writeFileSync(path.join(dir, 'gateway.yaml'), GATEWAY_YAML);
  holder = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  port = (holder.address() as AddressInfo).port;
});

after(async () => {
  await new Promise((r) => holder.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a busy ingress port: the cause on stderr in one line, exit 1, fast, nothing left running', { timeout: 60_000 }, async () => {
  const stateDir = path.join(dir, 'state');
  const started = performance.now();
  const r = await runWeft(['--state-dir', stateDir, 'up', 'examples/httpbin', path.join(dir, 'gateway.yaml'), '--isolation=none', '--ingress-port', String(port)]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.stderr, `error: --ingress-port ${port}: 127.0.0.1:${port} is already in use (EADDRINUSE)\n`);
  assert.equal(r.code, 1);
  assert.ok(seconds < 10, `refused after ${seconds.toFixed(1)} s`);
  assert.equal(fs.existsSync(path.join(stateDir, 'mesh.json')), false, 'no mesh.json of a mesh that is not running');
  const marked = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(`WEFT_MESH_STATE=${stateDir}\0`);
    } catch {
      return false;
    }
  });
  assert.deepEqual(marked, [], 'no process of this mesh is left');
});

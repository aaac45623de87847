/**
 * Opaque TCP between sidecars: a CONNECT tunnel from sleep's sidecar to tcp-echo, mTLS on the wire, and
 * AuthorizationPolicy with Istio's TCP semantics: a DENY closes the connection, a DENY rule with only HTTP fields
 * still denies, an ALLOW rule with HTTP fields never matches.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { cleanup } from './support/cleanup.js';

let mesh: MeshRun;
before(async () => {
  mesh = await startMesh(['examples/httpbin', 'examples/tcp-echo'], { isolation: 'none' });
});
cleanup('mesh-tcp', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

/** CONNECT through sleep's sidecar, send one line, return what came back before the tunnel closed or 3 s passed. */
function echoThroughMesh(line: string): Promise<{ connected: boolean; reply: string }> {
  const [host, port] = mesh.workload('sleep').outbound.split(':') as [string, string];
  return new Promise((resolve) => {
    let buf = '';
    let connected = false;
    const s = net.connect({ host, port: Number(port) }, () => s.write('CONNECT tcp-echo:9000 HTTP/1.1\r\nhost: tcp-echo:9000\r\n\r\n'));
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ connected, reply: buf });
    };
    const timer = setTimeout(done, 3000);
    s.on('data', (c) => {
      buf += c.toString();
      if (!connected && buf.includes('\r\n\r\n')) {
        connected = buf.startsWith('HTTP/1.1 200');
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        if (connected) s.write(`${line}\n`);
      }
      if (buf.endsWith('\n') && connected) done();
    });
    s.on('close', done);
    s.on('error', done);
  });
}

async function policy(yaml: string): Promise<void> {
  const r = await mesh.weft(['apply', '-f', '-'], yaml);
  assert.equal(r.code, 0, r.stderr);
  await new Promise((r2) => setTimeout(r2, 500));
}

async function clear(name: string): Promise<void> {
  assert.equal((await mesh.weft(['delete', 'authorizationpolicy', name])).code, 0);
  await new Promise((r) => setTimeout(r, 500));
}

const header = (name: string, action: string): string =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: default }\nspec:\n  selector: { matchLabels: { app: tcp-echo } }\n  action: ${action}\n`;

test('opaque TCP goes through both sidecars over mTLS', async () => {
  const r = await echoThroughMesh('world');
  assert.equal(r.reply, 'hello world\n');
  // The tcp-echo sidecar logs the connection, when it closes, with sleep's verified identity.
  await eventually('the TCP access log line', () => {
    const log = fs.readFileSync(`${mesh.stateDir}/logs/default.tcp-echo.sidecar.log`, 'utf8');
    return /"method":"TCP".*"peer":"spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep"/.test(log) || undefined;
  });
});

test('a DENY policy on a TCP port closes the connection', async () => {
  await policy(`${header('deny-sleep', 'DENY')}  rules:\n  - from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }]\n`);
  const r = await echoThroughMesh('world');
  assert.equal(r.reply, '', 'nothing echoed: the connection was closed');
  await eventually('the denial logged with its policy', () => {
    const log = fs.readFileSync(`${mesh.stateDir}/logs/default.tcp-echo.sidecar.log`, 'utf8');
    return /"method":"TCP".*"authz":\{"decision":"DENY","policy":"default\/deny-sleep","rule":0\}/.test(log) || undefined;
  });
  await clear('deny-sleep');
  assert.equal((await echoThroughMesh('again')).reply, 'hello again\n');
});

test('a DENY rule with only HTTP fields denies TCP; an ALLOW rule with HTTP fields never matches TCP', async () => {
  await policy(`${header('deny-get', 'DENY')}  rules:\n  - to: [{ operation: { methods: ["GET"] } }]\n`);
  assert.equal((await echoThroughMesh('x')).reply, '', 'DENY ignores the HTTP-only field and denies');
  await clear('deny-get');
  await policy(`${header('allow-get', 'ALLOW')}  rules:\n  - to: [{ operation: { methods: ["GET"], ports: ["9000"] } }]\n`);
  assert.equal((await echoThroughMesh('x')).reply, '', 'ALLOW with an HTTP field never matches TCP');
  await clear('allow-get');
  await policy(`${header('allow-port', 'ALLOW')}  rules:\n  - to: [{ operation: { ports: ["9000"] } }]\n`);
  assert.equal((await echoThroughMesh('y')).reply, 'hello y\n', 'ALLOW on the port alone matches');
  await clear('allow-port');
});

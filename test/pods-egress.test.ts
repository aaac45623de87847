/**
 * Egress from pods (`weft up --isolation=netns`): calls to an "outside" network beyond the mesh (plain HTTP, HTTPS,
 * TCP echo; test/support/outside-netns.ts) made by apps that know nothing of the mesh, captured by their sidecars.
 * REGISTRY_ONLY (the default) refuses them (HTTP 502; TLS and TCP closed); ALLOW_ANY passes them; a ServiceEntry
 * opens one destination (HTTP by Host, TLS by SNI, TCP by address); a Sidecar narrows one workload's view; a
 * wildcard host matches subdomains only; a ServiceEntry host with addresses resolves inside the pod.
 * Root, `ip netns`, iptables, curl, getent and openssl are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { applyAndSync as applyConfig, proxyStatuses } from './support/config-sync.js';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, run, podTestSkipReason } from './support/netns-traces.js';
import { startOutsideNetwork } from './support/outside-netns.js';
import type { OutsideNetwork } from './support/outside-netns.js';
import { cleanup } from './support/cleanup.js';

const skip = await podTestSkipReason(['iptables', 'setpriv', 'curl', 'getent', 'openssl']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-egress-'));
const digest = meshDigest(stateDir);
let mesh: MeshRun | undefined;
let outside: OutsideNetwork | undefined;

cleanup('pods-egress', async () => {
  await mesh?.stop('SIGTERM');
  await outside?.close();
  if (!skip) await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const PLAIN = 'plain.outside.test';
const SECURE = 'secure.outside.test';
const ECHO = 'echo.outside.test';
const CLIENTS = ['curl', 'sleep'] as const;
type Client = (typeof CLIENTS)[number];

/** Without http_proxy: the app's own connection, captured in its pod, as an app unaware of the mesh makes it. */
const direct = ['env', '-u', 'http_proxy', '-u', 'HTTP_PROXY', '-u', 'https_proxy', '-u', 'HTTPS_PROXY'];

interface Outcome {
  /** The outside server answered (and for TCP, echoed the line back). */
  reached: boolean;
  /** HTTP status, when there was an HTTP answer at all. */
  status?: number;
  /** HTTP: the Host header the outside server received. */
  receivedHost?: string;
  detail: string;
}

function m(): MeshRun {
  assert.ok(mesh, 'mesh is up');
  return mesh;
}

function o(): OutsideNetwork {
  assert.ok(outside, 'outside network is up');
  return outside;
}

async function httpCall(client: Client, host: string): Promise<Outcome> {
  const r = await m().weft(['exec', client, '--', ...direct, 'curl', '-sS', '-m', '5', '-w', '\n%{http_code}', '--resolve', `${host}:80:${o().address}`, `http://${host}/egress`]);
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const body = lines.join('\n');
  const answer = body.includes('"server":"outside-http"') ? (JSON.parse(body) as { host: string }) : undefined;
  // The name, with or without the default port: which of the two is asserted on its own, where it matters.
  const reached = answer !== undefined && (answer.host === host || answer.host === `${host}:80`);
  return { reached, status: status || undefined, receivedHost: answer?.host, detail: `exit ${r.code} ${r.stdout} ${r.stderr}`.trim() };
}

/** `insecure`: call a name the certificate does not hold, to try an SNI no ServiceEntry names. */
async function httpsCall(client: Client, host: string, insecure = false): Promise<Outcome> {
  const trust = insecure ? ['-k'] : ['--cacert', o().caFile];
  const r = await m().weft(['exec', client, '--', ...direct, 'curl', '-sS', '-m', '5', ...trust, '--resolve', `${host}:443:${o().address}`, `https://${host}/egress`]);
  return { reached: r.code === 0 && r.stdout.includes('"server":"outside-https"'), detail: `exit ${r.code} ${r.stdout} ${r.stderr}`.trim() };
}

// One line out, one line back; "closed" when the connection ends without the echo.
const TCP_CLIENT = `
const net = require('node:net');
const [host, port, line] = process.argv.slice(1);
const s = net.connect(Number(port), host);
let got = '';
const end = (code, what) => { console.log(what); process.exit(code); };
s.setTimeout(5000, () => end(2, 'timeout ' + got));
s.on('connect', () => s.write(line + '\\n'));
s.on('data', (d) => { got += d; if (got.includes('\\n')) end(0, got.trim()); });
s.on('close', () => end(1, 'closed ' + got));
s.on('error', (e) => end(1, 'error ' + e.code));
`;

async function tcpCall(client: Client, host: string): Promise<Outcome> {
  const line = `ping-${client}`;
  const r = await m().weft(['exec', client, '--', process.execPath, '-e', TCP_CLIENT, host, String(o().ports.tcp), line]);
  return { reached: r.code === 0 && r.stdout.includes(`outside-echo ${line}`), detail: `exit ${r.code} ${r.stdout} ${r.stderr}`.trim() };
}

/** HTTP refused by the sidecar: a 502 of its own, not an answer from outside. */
function assertHttpRefused(out: Outcome, what: string): void {
  assert.equal(out.reached, false, `${what} reached the outside: ${out.detail}`);
  assert.equal(out.status, 502, `${what}: expected the sidecar's 502: ${out.detail}`);
}

function assertClosed(out: Outcome, what: string): void {
  assert.equal(out.reached, false, `${what} reached the outside: ${out.detail}`);
}

function applyAndSync(verb: 'apply' | 'delete', source: { file: string } | { yaml: string }, changed: readonly Client[]): Promise<void> {
  return applyConfig(m(), verb, source, changed);
}

function serviceEntries(address: string): string {
  const entry = (name: string, spec: string): string =>
    `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ${name}, namespace: external }\nspec:\n${spec}\n---\n`;
  return [
    entry('plain', `  hosts: [${PLAIN}]\n  location: MESH_EXTERNAL\n  resolution: NONE\n  ports: [{ number: 80, name: http, protocol: HTTP }]`),
    entry('secure', `  hosts: [${SECURE}]\n  location: MESH_EXTERNAL\n  resolution: NONE\n  ports: [{ number: 443, name: tls, protocol: TLS }]`),
    entry('echo', `  hosts: [${ECHO}]\n  addresses: ["${address}"]\n  location: MESH_EXTERNAL\n  resolution: NONE\n  ports: [{ number: 9000, name: tcp, protocol: TCP }]`),
  ].join('');
}

const WILDCARD_ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: wild, namespace: external }
spec:
  hosts: ["*.wild.example.test"]
  location: MESH_EXTERNAL
  resolution: NONE
  ports: [{ number: 80, name: http, protocol: HTTP }]
`;

test('egress from pods: REGISTRY_ONLY, ALLOW_ANY, ServiceEntry, Sidecar', { skip, timeout: 300_000 }, async (t) => {
  // Before weft up, so the mesh's pod subnet is chosen around the outside network's addresses.
  outside = await startOutsideNetwork([SECURE, '*.wild.example.test']);
  mesh = await startMesh(['examples/egress', 'examples/httpbin/sleep.yaml'], { stateDir, isolation: 'netns' });
  const out = o();

  await t.test('the pods and the outside network do not share a subnet', () => {
    for (const c of CLIENTS) {
      const w = m().workload(c);
      assert.ok(w.netns, `${c} runs in a network namespace`);
      assert.ok(!w.podIP.startsWith(out.address.split('.').slice(0, 3).join('.') + '.'), `${c} at ${w.podIP} collides with ${out.address}`);
    }
  });

  await t.test('REGISTRY_ONLY (the default): HTTP gets 502, TLS and TCP are closed', async () => {
    for (const c of CLIENTS) {
      assertHttpRefused(await httpCall(c, PLAIN), `${c} → http://${PLAIN}`);
      assertClosed(await httpsCall(c, SECURE), `${c} → https://${SECURE}`);
      assertClosed(await tcpCall(c, out.address), `${c} → tcp ${out.address}:${out.ports.tcp}`);
    }
  });

  await t.test('ALLOW_ANY passes all three through, without any ServiceEntry', async () => {
    await applyAndSync('apply', { file: 'examples/egress/config/allow-any.yaml' }, CLIENTS);
    for (const c of CLIENTS) {
      const http = await httpCall(c, PLAIN);
      assert.ok(http.reached && http.status === 200, `${c} → http://${PLAIN}: ${http.detail}`);
      const https = await httpsCall(c, SECURE);
      assert.ok(https.reached, `${c} → https://${SECURE}: ${https.detail}`);
      const tcp = await tcpCall(c, out.address);
      assert.ok(tcp.reached, `${c} → tcp ${out.address}: ${tcp.detail}`);
    }
    await applyAndSync('apply', { file: 'examples/egress/mesh-config.yaml' }, CLIENTS);
    assertHttpRefused(await httpCall('curl', PLAIN), `back under REGISTRY_ONLY, curl → http://${PLAIN}`);
    assertClosed(await tcpCall('curl', out.address), `back under REGISTRY_ONLY, curl → tcp ${out.address}`);
  });

  await t.test('ServiceEntries open one destination each: HTTP by Host, TLS by SNI, TCP by address', async () => {
    await applyAndSync('apply', { yaml: serviceEntries(out.address) }, CLIENTS);
    for (const c of CLIENTS) {
      const http = await httpCall(c, PLAIN);
      assert.ok(http.reached && http.status === 200, `${c} → http://${PLAIN}: ${http.detail}`);
      const https = await httpsCall(c, SECURE);
      assert.ok(https.reached, `${c} → https://${SECURE} (passed through, the outside's own certificate): ${https.detail}`);
      const tcp = await tcpCall(c, out.address);
      assert.ok(tcp.reached, `${c} → tcp ${out.address}: ${tcp.detail}`);
    }
    // The same address under names no entry holds: the match is by Host and by SNI, not by where it goes.
    assertHttpRefused(await httpCall('curl', 'other.outside.test'), 'curl → http://other.outside.test at the same address');
    assertClosed(await httpsCall('curl', 'other.outside.test', true), 'curl → https://other.outside.test at the same address');
    // Passed through as the app sent it: a server that signs or routes by Host must see curl's own header.
    const http = await httpCall('curl', PLAIN);
    assert.equal(http.receivedHost, PLAIN, `the Host header was rewritten on the way out: ${http.detail}`);
  });

  await t.test('a ServiceEntry host with addresses resolves inside the pod, and a TCP call by that name goes through', async () => {
    for (const c of CLIENTS) {
      const r = await m().weft(['exec', c, '--', 'getent', 'hosts', ECHO]);
      assert.equal(r.code, 0, `getent hosts ${ECHO} in ${c}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.stdout.trim().split(/\s+/)[0], out.address, r.stdout);
    }
    const tcp = await tcpCall('curl', ECHO);
    assert.ok(tcp.reached, `curl → tcp ${ECHO}: ${tcp.detail}`);
  });

  await t.test("a Sidecar with egress ./* hides the other namespace's ServiceEntries from curl only", async () => {
    await applyAndSync('apply', { file: 'examples/egress/config/sidecar.yaml' }, ['curl']);
    assertHttpRefused(await httpCall('curl', PLAIN), `curl under its Sidecar → http://${PLAIN}`);
    assertClosed(await httpsCall('curl', SECURE), `curl under its Sidecar → https://${SECURE}`);
    const other = await httpCall('sleep', PLAIN);
    assert.ok(other.reached && other.status === 200, `sleep, not selected by the Sidecar → http://${PLAIN}: ${other.detail}`);
    await applyAndSync('delete', { file: 'examples/egress/config/sidecar.yaml' }, ['curl']);
    const again = await httpCall('curl', PLAIN);
    assert.ok(again.reached && again.status === 200, `curl once its Sidecar is deleted → http://${PLAIN}: ${again.detail}`);
  });

  await t.test('*.wild.example.test matches a.wild.example.test, never wild.example.test itself', async () => {
    assertHttpRefused(await httpCall('curl', 'a.wild.example.test'), 'before the wildcard entry, a.wild.example.test');
    await applyAndSync('apply', { yaml: WILDCARD_ENTRY }, CLIENTS);
    const sub = await httpCall('curl', 'a.wild.example.test');
    assert.ok(sub.reached && sub.status === 200, `curl → http://a.wild.example.test: ${sub.detail}`);
    assertHttpRefused(await httpCall('curl', 'wild.example.test'), 'curl → http://wild.example.test');
  });

  await t.test("the example's ServiceEntry (httpbin.org, DNS resolution) is accepted and its host resolves in the pod", async () => {
    await applyAndSync('apply', { file: 'examples/egress/config/serviceentry.yaml' }, CLIENTS);
    for (const p of await proxyStatuses(m())) {
      assert.equal(p.compileError, null, `${p.name}: ${p.compileError ?? ''}`);
      assert.equal(p.lastNack, null, `${p.name} NACKed: ${p.lastNack?.reason ?? ''}`);
    }
    // No network is needed: the pod's DNS proxy answers the entry's host with a virtual address.
    const r = await m().weft(['exec', 'curl', '--', 'getent', 'hosts', 'httpbin.org']);
    assert.equal(r.code, 0, `getent hosts httpbin.org: ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\.\d+\s+httpbin\.org/);
  });

  await t.test('a stop leaves nothing of the mesh, and closing the outside network removes it', async () => {
    await m().stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
    await out.close();
    const netns = (await run('ip', ['netns', 'list'])).stdout;
    assert.ok(!netns.split('\n').some((l) => l.split(' ')[0] === out.netns), `${out.netns} is left`);
    const links = (await run('ip', ['-o', 'link'])).stdout;
    assert.ok(!links.includes(out.hostLink), `${out.hostLink} is left`);
  });
});

/**
 * Test support for the egress pod tests: the clients (`curl`, `sleep`) calling an outside network (test/support/
 * outside-netns.ts) the way an app unaware of the mesh does (HTTP, HTTPS, a TCP line echo), captured by their
 * sidecars, and what each call's outcome must be when the sidecar refuses it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../../src/mesh/netns/pod-names.js';
import { cleanup } from './cleanup.js';
import { applyAndSync as applyConfig } from './config-sync.js';
import { startMesh } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';
import { meshTraces, removeMeshObjects, podTestSkipReason, run } from './netns-traces.js';
import { startOutsideNetwork } from './outside-netns.js';
import type { OutsideNetwork } from './outside-netns.js';

/** The mesh and the outside network one test file runs; each asserts it is up. */
export interface EgressWorld {
  mesh(): MeshRun;
  outside(): OutsideNetwork;
}

export const PLAIN = 'plain.outside.test';
export const SECURE = 'secure.outside.test';
export const ECHO = 'echo.outside.test';
export const CLIENTS = ['curl', 'sleep'] as const;
export type Client = (typeof CLIENTS)[number];

/** Without http_proxy: the app's own connection, captured in its pod, as an app unaware of the mesh makes it. */
const direct = ['env', '-u', 'http_proxy', '-u', 'HTTP_PROXY', '-u', 'https_proxy', '-u', 'HTTPS_PROXY'];

export interface Outcome {
  /** The outside server answered (and for TCP, echoed the line back). */
  reached: boolean;
  /** HTTP status, when there was an HTTP answer at all. */
  status?: number;
  /** HTTP: the Host header the outside server received. */
  receivedHost?: string;
  detail: string;
}


export async function httpCall(w: EgressWorld, client: Client, host: string): Promise<Outcome> {
  const r = await w.mesh().weft(['exec', client, '--', ...direct, 'curl', '-sS', '-m', '5', '-w', '\n%{http_code}', '--resolve', `${host}:80:${w.outside().address}`, `http://${host}/egress`]);
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const body = lines.join('\n');
  const answer = body.includes('"server":"outside-http"') ? (JSON.parse(body) as { host: string }) : undefined;
  // The name, with or without the default port: which of the two is asserted on its own, where it matters.
  const reached = answer !== undefined && (answer.host === host || answer.host === `${host}:80`);
  return { reached, status: status || undefined, receivedHost: answer?.host, detail: `exit ${r.code} ${r.stdout} ${r.stderr}`.trim() };
}

/** `insecure`: call a name the certificate does not hold, to try an SNI no ServiceEntry names. */
export async function httpsCall(w: EgressWorld, client: Client, host: string, insecure = false): Promise<Outcome> {
  const trust = insecure ? ['-k'] : ['--cacert', w.outside().caFile];
  const r = await w.mesh().weft(['exec', client, '--', ...direct, 'curl', '-sS', '-m', '5', ...trust, '--resolve', `${host}:443:${w.outside().address}`, `https://${host}/egress`]);
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

export async function tcpCall(w: EgressWorld, client: Client, host: string): Promise<Outcome> {
  const line = `ping-${client}`;
  const r = await w.mesh().weft(['exec', client, '--', process.execPath, '-e', TCP_CLIENT, host, String(w.outside().ports.tcp), line]);
  return { reached: r.code === 0 && r.stdout.includes(`outside-echo ${line}`), detail: `exit ${r.code} ${r.stdout} ${r.stderr}`.trim() };
}

/** HTTP refused by the sidecar: a 502 of its own, not an answer from outside. */
export function assertHttpRefused(out: Outcome, what: string): void {
  assert.equal(out.reached, false, `${what} reached the outside: ${out.detail}`);
  assert.equal(out.status, 502, `${what}: expected the sidecar's 502: ${out.detail}`);
}

export function assertClosed(out: Outcome, what: string): void {
  assert.equal(out.reached, false, `${what} reached the outside: ${out.detail}`);
}

export function applyAndSync(w: EgressWorld, verb: 'apply' | 'delete', source: { file: string } | { yaml: string }, changed: readonly Client[]): Promise<void> {
  return applyConfig(w.mesh(), verb, source, changed);
}

export function serviceEntries(address: string): string {
  const entry = (name: string, spec: string): string =>
    `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ${name}, namespace: external }\nspec:\n${spec}\n---\n`;
  return [
    entry('plain', `  hosts: [${PLAIN}]\n  location: MESH_EXTERNAL\n  resolution: NONE\n  ports: [{ number: 80, name: http, protocol: HTTP }]`),
    entry('secure', `  hosts: [${SECURE}]\n  location: MESH_EXTERNAL\n  resolution: NONE\n  ports: [{ number: 443, name: tls, protocol: TLS }]`),
    entry('echo', `  hosts: [${ECHO}]\n  addresses: ["${address}"]\n  location: MESH_EXTERNAL\n  resolution: NONE\n  ports: [{ number: 9000, name: tcp, protocol: TCP }]`),
  ].join('');
}

export const WILDCARD_ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: wild, namespace: external }
spec:
  hosts: ["*.wild.example.test"]
  location: MESH_EXTERNAL
  resolution: NONE
  ports: [{ number: 80, name: http, protocol: HTTP }]
`;

/** One egress test file's world: its mesh, its outside network, and their cleanup (registered when made). */
export interface EgressFile extends EgressWorld {
  /** Why the file cannot run here, or undefined. */
  skip: string | undefined;
  /** The mesh's state directory's digest, which its kernel objects carry. */
  digest: string;
  /**
   * Starts the outside network in `block` (a /24 no other file running at once uses), then the mesh: the egress
   * example with `sleep`, or, given `config` (YAML documents made for the outside address), `curl` and `sleep` with it.
   */
  start(block: string, config?: (address: string) => string[], paths?: readonly string[]): Promise<void>;
  /** `weft apply` (or delete) and wait until the named proxies acknowledged a new config. */
  applyAndSync(source: { file: string } | { yaml: string }, changed: readonly string[], verb?: 'apply' | 'delete'): Promise<void>;
  /** Stops the mesh and closes the outside network, and asserts that nothing of either is left in the kernel. */
  stopAndAssertNothingLeft(): Promise<void>;
}

export async function egressFile(what: string): Promise<EgressFile> {
  const skip = await podTestSkipReason(['iptables', 'setpriv', 'curl', 'getent', 'openssl']);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `weft-${what}-`));
  const digest = meshDigest(stateDir);
  let mesh: MeshRun | undefined;
  let outside: OutsideNetwork | undefined;
  cleanup(what, async () => {
    await mesh?.stop('SIGTERM');
    await outside?.close();
    if (!skip) await removeMeshObjects(digest);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  return {
    skip,
    digest,
    mesh() {
      assert.ok(mesh, 'mesh is up');
      return mesh;
    },
    outside() {
      assert.ok(outside, 'outside network is up');
      return outside;
    },
    async start(block, config, extraPaths = []) {
      // Before weft up, so the mesh's pod subnet is chosen around the outside network's addresses.
      outside = await startOutsideNetwork([SECURE, '*.wild.example.test'], block);
      let paths = ['examples/egress', 'examples/httpbin/sleep.yaml'];
      if (config !== undefined) {
        const dir = fs.mkdtempSync(path.join(stateDir, 'config-'));
        config(outside.address).forEach((yaml, i) => fs.writeFileSync(path.join(dir, `${i}.yaml`), yaml));
        paths = [...extraPaths, 'examples/egress/curl.yaml', 'examples/httpbin/sleep.yaml', dir];
      }
      mesh = await startMesh(paths, { stateDir, isolation: 'netns' });
    },
    applyAndSync(source, changed, verb = 'apply') {
      assert.ok(mesh, 'mesh is up');
      return applyConfig(mesh, verb, source, changed);
    },
    async stopAndAssertNothingLeft() {
      assert.ok(mesh && outside, 'mesh and outside network are up');
      await mesh.stop('SIGTERM');
      assert.deepEqual(await meshTraces(digest), []);
      const out = outside;
      await out.close();
      const netns = (await run('ip', ['netns', 'list'])).stdout;
      assert.ok(!netns.split('\n').some((l) => l.split(' ')[0] === out.netns), `${out.netns} is left`);
      const links = (await run('ip', ['-o', 'link'])).stdout;
      assert.ok(!links.includes(out.hostLink), `${out.hostLink} is left`);
    },
  };
}

/**
 * Istio's "Egress Gateways with TLS Origination" task, both ways, at the egress gateway of `weft up
 * --isolation=netns`: a client sends plain HTTP to the gateway's server port with the external Host (what the task's
 * second hop receives), and the gateway's route sends it on to the external host's HTTPS ports, where the
 * DestinationRule's `tls` makes the gateway originate TLS. The external host is a local TLS server in an "outside"
 * network namespace (tls-origin-server.ts) with a CA and certificates made by openssl here: port 443 answers any
 * client (SIMPLE, verified with the task's own CA file), port 8443 requires a client certificate from that CA
 * (MUTUAL with `credentialName`, a Secret in the gateway's namespace as Istio requires). The server names the SNI
 * and client certificate it saw; a `tcp` route of a TCP server is originated the same way. A rotated Secret is
 * presented on new connections without a restart; a client certificate from another CA is answered 503 with `UF`
 * in the gateway's access log (a missing Secret or certificate: external-origination.test.ts). Root, `ip netns`,
 * iptables, setpriv, curl, getent and openssl are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTeardown } from '../bench/teardown.js';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { cleanup } from './support/cleanup.js';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { podTestSkipReason, removeMeshObjects, run } from './support/netns-traces.js';
import { startOutsideNetwork } from './support/outside-netns.js';
import type { OutsideNetwork } from './support/outside-netns.js';
import { accessLines } from './support/access-log.js';
import type { AccessLine } from './support/access-log.js';
import { applyAndSync } from './support/config-sync.js';
import { makeCa, makeLeaf } from './support/openssl-certs.js';

const HOST = 'nginx.outside.test';
const GATEWAY_NS = 'weft-system';
const ORIGIN_SCRIPT = fileURLToPath(new URL('./support/tls-origin-server.js', import.meta.url));

const skip = await podTestSkipReason(['iptables', 'setpriv', 'curl', 'getent', 'openssl']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-egress-tls-'));
// The gateway runs under its own uid: the CA file the rule names must be readable by it, as a mounted file would be.
const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-egress-tls-certs-'));
fs.chmodSync(certDir, 0o755);
const digest = meshDigest(stateDir);
let mesh: MeshRun | undefined;
let outside: OutsideNetwork | undefined;
let origin: ChildProcess | undefined;
cleanup('pods-egress-tls-origination', async () => {
  await mesh?.stop('SIGTERM');
  origin?.kill('SIGTERM');
  await outside?.close();
  if (!skip) await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
  fs.rmSync(certDir, { recursive: true, force: true });
});

/** The origin servers inside the outside namespace; their ports once both listen. */
async function startOrigin(net: OutsideNetwork, files: { crt: string; key: string; ca: string }): Promise<{ simple: number; mutual: number }> {
  const stop = onTeardown({ what: 'TLS origin servers', stop: () => Promise.resolve(void origin?.kill('SIGTERM')), kill: () => origin?.kill('SIGKILL') });
  origin = spawn('ip', ['netns', 'exec', net.netns, process.execPath, ORIGIN_SCRIPT], {
    env: { PATH: process.env['PATH'] ?? '', ORIGIN_ADDRESS: net.address, TLS_CERT: files.crt, TLS_KEY: files.key, CLIENT_CA: files.ca },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  origin.once('exit', stop);
  let out = '';
  origin.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  origin.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const ready = await eventually(`the origin servers (${out})`, () => /origin ready simple=(\d+) mutual=(\d+)/.exec(out) ?? undefined, 10_000);
  return { simple: Number(ready[1]), mutual: Number(ready[2]) };
}

/** `kubectl create secret -n istio-system generic client-credential --from-file=tls.key=... --from-file=tls.crt=... --from-file=ca.crt=...`. */
function clientSecret(files: { crt: string; key: string; ca: string }, name = 'client-credential'): string {
  const b64 = (f: string): string => fs.readFileSync(f).toString('base64');
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${GATEWAY_NS} }
type: Opaque
data:
  tls.key: ${b64(files.key)}
  tls.crt: ${b64(files.crt)}
  ca.crt: ${b64(files.ca)}
`;
}

/** The task's resources with the origin standing in for the external host (a STATIC entry pins where it is). */
function taskConfig(address: string, ports: { simple: number; mutual: number }, caFile: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: nginx, namespace: default }
spec:
  hosts: [${HOST}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: "${address}", ports: { https: ${ports.simple}, https-mutual: ${ports.mutual}, https-stranger: ${ports.mutual} } }]
  ports:
  - { number: 80, name: http, protocol: HTTP }
  - { number: 443, name: https, protocol: HTTPS }
  - { number: 8443, name: https-mutual, protocol: HTTPS }
  - { number: 9443, name: https-stranger, protocol: HTTPS }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: istio-egressgateway, namespace: default }
spec:
  selector: { istio: egressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: [${HOST}]
  - port: { number: 7777, name: tcp, protocol: TCP }
    hosts: [${HOST}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: direct-nginx-through-egress-gateway, namespace: default }
spec:
  hosts: [${HOST}]
  gateways: [istio-egressgateway]
  http:
  - match: [{ gateways: [istio-egressgateway], port: 80, uri: { prefix: /stranger } }]
    route: [{ destination: { host: ${HOST}, port: { number: 9443 } } }]
  - match: [{ gateways: [istio-egressgateway], port: 80, uri: { prefix: /mutual } }]
    route: [{ destination: { host: ${HOST}, port: { number: 8443 } } }]
  - match: [{ gateways: [istio-egressgateway], port: 80 }]
    route: [{ destination: { host: ${HOST}, port: { number: 443 } } }]
  tcp:
  - match: [{ gateways: [istio-egressgateway], port: 7777 }]
    route: [{ destination: { host: ${HOST}, port: { number: 443 } } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: originate-tls-for-nginx, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    portLevelSettings:
    - port: { number: 443 }
      tls: { mode: SIMPLE, caCertificates: ${caFile} }
    - port: { number: 8443 }
      tls: { mode: MUTUAL, credentialName: client-credential, sni: ${HOST} }
    - port: { number: 9443 }
      tls: { mode: MUTUAL, credentialName: stranger-credential }
`;
}

async function callGateway(gatewayIP: string, urlPath: string): Promise<{ status: number; body: string }> {
  const r = await run('curl', ['-sS', '-m', '5', '-w', '\n%{http_code}', '--resolve', `${HOST}:80:${gatewayIP}`, `http://${HOST}${urlPath}`]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.join('\n') };
}

test('egress gateway TLS origination: SIMPLE and MUTUAL with credentialName', { skip, timeout: 170_000 }, async (t) => {
  const ca = makeCa(certDir, 'example.com', '/O=example Inc./CN=example.com');
  const server = makeLeaf(certDir, HOST, `/CN=${HOST}/O=some organization`, ca, 1);
  const client = makeLeaf(certDir, 'client.example.com', '/CN=client.example.com/O=client organization', ca, 2);
  const rotated = makeLeaf(certDir, 'rotated.example.com', '/CN=rotated.example.com/O=client organization', ca, 3);
  const otherCa = makeCa(certDir, 'other.com', '/O=other Inc./CN=other.com');
  const stranger = makeLeaf(certDir, 'stranger.other.com', '/CN=stranger.other.com', otherCa, 4);
  for (const f of fs.readdirSync(certDir)) if (f.endsWith('.crt')) fs.chmodSync(path.join(certDir, f), 0o644);

  outside = await startOutsideNetwork([HOST], '198.19.251');
  const ports = await startOrigin(outside, { ...server, ca: ca.crt });
  const dir = fs.mkdtempSync(path.join(stateDir, 'config-'));
  fs.writeFileSync(path.join(dir, 'task.yaml'), taskConfig(outside.address, ports, ca.crt));
  fs.writeFileSync(path.join(dir, 'client-credential.yaml'), clientSecret({ ...client, ca: ca.crt }));
  // A client certificate of another CA, for the port the external host must refuse it on.
  fs.writeFileSync(path.join(dir, 'stranger-credential.yaml'), clientSecret({ ...stranger, ca: ca.crt }, 'stranger-credential'));
  mesh = await startMesh([dir], { stateDir, isolation: 'netns' });
  const m = mesh;
  const gw = m.mesh().egressGateway;
  assert.ok(gw, 'weft up started the egress gateway');
  const log = path.join(stateDir, 'logs', `${GATEWAY_NS}.istio-egressgateway.log`);
  const refusedLine = (urlPath: string): Promise<AccessLine> =>
    eventually(`a 503 access line for ${urlPath}`, () => accessLines(log, 'gateway').find((l) => l.path === urlPath && l.status === 503));

  await t.test('SIMPLE: plain HTTP in, TLS to the external host verified with the CA file, the Host as SNI', async () => {
    const r = await callGateway(gw.podIP, '/politics');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, `simple sni=${HOST} client=none host=${HOST}`);
  });

  await t.test('a tcp route: the bytes of a TCP server leave over TLS the gateway originates', async () => {
    const r = await run('curl', ['-sS', '-m', '5', '--resolve', `${HOST}:7777:${gw.podIP}`, `http://${HOST}:7777/tcp`]).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout ?? ''}${err.stderr ?? ''}` }));
    assert.equal(r.stdout, `simple sni=${HOST} client=none host=${HOST}:7777`);
  });

  await t.test("MUTUAL: the gateway presents the client certificate of the Secret in its namespace", async () => {
    const r = await callGateway(gw.podIP, '/mutual/politics');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, `mutual sni=${HOST} client=client.example.com host=${HOST}`);
  });

  await t.test('credentialName with certificate files is refused at apply with file, line and field', async () => {
    const bad = path.join(certDir, 'both.yaml');
    fs.writeFileSync(bad, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: both, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy:
    tls: { mode: MUTUAL, credentialName: client-credential, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem }
`);
    const r = await m.weft(['apply', '-f', bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /both\.yaml:7:\d+: spec\.trafficPolicy\.tls\.credentialName: clientCertificate, privateKey, caCertificates and caCrl cannot be set when credentialName is set/);
  });

  await t.test("the gateway's enforced config hides the Secret's private key", async () => {
    const r = await m.weft(['audit', 'enforced', `gateway/${GATEWAY_NS}/istio-egressgateway`, '--at', new Date().toISOString(), '-o', 'json']);
    assert.ok(r.stdout.startsWith('{'), r.stderr);
    // Compiled again from the audited revision (the Secret, the gateway's Service and Workload are in the store), the
    // gateway's config is the one it ACKed.
    assert.deepEqual([(JSON.parse(r.stdout) as { reproduced: boolean }).reproduced, r.code], [true, 0]);
    assert.match(r.stdout, /"privateKey": \{\s*"secret": "weft-system\/client-credential",\s*"pem": "<redacted>"/);
    const keyBody = fs.readFileSync(client.key, 'utf8').split('\n')[1]!;
    assert.ok(!r.stdout.includes(keyBody), 'no line of the private key in the shown config');
  });

  await t.test('a rotated Secret is presented on the next connection, the gateway not restarted', async () => {
    const pid = gw.proxyPid;
    await applyAndSync(m, 'apply', { yaml: clientSecret({ ...rotated, ca: ca.crt }) }, ['istio-egressgateway']);
    const r = await callGateway(gw.podIP, '/mutual/rotated');
    assert.equal(r.body, `mutual sni=${HOST} client=rotated.example.com host=${HOST}`);
    assert.equal(m.mesh().egressGateway?.proxyPid, pid);
    // istioctl's view: the gateway holds the Secret under Istio's SDS name, the rotated certificate now.
    const pc = await m.weft(['proxy-config', `gateway/${GATEWAY_NS}/istio-egressgateway`, 'secrets', '-o', 'json']);
    assert.equal(pc.code, 0, pc.stderr);
    const secrets = (JSON.parse(pc.stdout) as { secrets: Array<{ name: string; type: string; subject: string }> }).secrets;
    assert.match(secrets.find((x) => x.name === 'kubernetes://client-credential')?.subject ?? '', /CN=rotated\.example\.com/);
    assert.equal(secrets.find((x) => x.name === 'kubernetes://client-credential-cacert')?.type, 'CA');
    assert.ok(!pc.stdout.includes('PRIVATE KEY'));
  });

  await t.test('a client certificate the external host does not trust: 503, UF', async () => {
    const r = await callGateway(gw.podIP, '/stranger');
    assert.equal(r.status, 503, r.body);
    assert.match((await refusedLine('/stranger')).responseFlags ?? '', /\bUF\b/);
  });
});

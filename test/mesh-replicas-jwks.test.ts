/**
 * JWKS refresh is singleton work: with three control-plane replicas on etcd (`weft up --store etcd
 * --control-replicas 3`), only the replica holding the leader lease fetches the identity provider's keys; the
 * others serve what it stored. The test's own JWKS server records which replica process made each fetch (the
 * owner of the connecting socket). The leader is killed; the replica next in line takes the lease and fetches; the
 * provider rotates its key; httpbin's sidecar, now connected to a follower, meets the new kid, and the follower has
 * the leader refetch: the token signed with the new key passes, one signed with the old key no longer does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { ControlClient } from '../src/cli/client.js';
import type { ProxyStatus } from '../src/control/push-server.js';
import { replicaKey, replicaOrder } from '../src/proxy/control/replica-order.js';
import { cleanup } from './support/cleanup.js';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

let mesh: MeshRun | undefined;
let jwksServer: http.Server | undefined;
cleanup('mesh-replicas-jwks', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  await new Promise((r) => (jwksServer ? jwksServer.close(r) : r(undefined)));
});

const ISSUER = 'https://idp.replicas.example';

interface SigningKey {
  kid: string;
  sign(sub: string): Promise<string>;
  jwk: Record<string, unknown>;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    jwk,
    sign: (sub) => new SignJWT({ sub }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ISSUER).setAudience('httpbin').setIssuedAt().setExpirationTime('10m').sign(privateKey),
  };
}

/** The pid among `pids` that owns the local end of the TCP connection whose client port is `port` (from /proc). */
function socketOwner(port: number, pids: number[]): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const line = fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '01');
  const inode = line?.[9];
  if (inode === undefined) return undefined;
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

interface Replica {
  name: string;
  address: string;
  pid: number | null;
}

function replicas(m: MeshRun): Replica[] {
  const file = m.mesh();
  return [{ name: 'control', ...file.control }, ...(file.replicas ?? []).map((r, i) => ({ name: `control-${i + 1}`, ...r }))];
}

function logOf(m: MeshRun, name: string): string {
  const file = path.join(m.stateDir, 'logs', `${name}.log`);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

/** True if the newest lease line in the replica's log says it leads (a killed leader's log keeps saying so). */
function saysLeading(m: MeshRun, name: string): boolean {
  return logOf(m, name).split('\n').filter((l) => l.includes('"leading:') || l.includes('"no longer leading"')).at(-1)?.includes('"leading:') ?? false;
}

/** The replica httpbin's sidecar is connected to, as that replica reports it. */
async function httpbinReplica(m: MeshRun): Promise<string | undefined> {
  for (const r of replicas(m)) {
    const client = new ControlClient({
      address: r.address,
      credential: fs.readFileSync(path.join(m.stateDir, 'admin.credential'), 'utf8').trim(),
      caPem: fs.readFileSync(path.join(m.stateDir, 'ca', 'trust-bundle.pem'), 'utf8'),
    });
    try {
      const proxies = (await client.proxies()) as ProxyStatus[];
      if (proxies.some((p) => p.id === 'sidecar/default/httpbin' && p.connected)) return r.name;
    } catch {
      // down or restarting
    } finally {
      await client.close();
    }
  }
  return undefined;
}

test('only the leading replica fetches JWKS; after it is killed the next leader does, and a follower pushes rotated keys', async (t) => {
  let keys = [await signingKey('a')];
  const fetches: { at: number; replica: string }[] = [];
  jwksServer = http.createServer((req, res) => {
    const named = mesh ? replicas(mesh) : [];
    const pid = socketOwner(req.socket.remotePort ?? 0, named.map((r) => r.pid).filter((p): p is number => p !== null));
    fetches.push({ at: Date.now(), replica: named.find((r) => r.pid === pid)?.name ?? `unknown pid ${String(pid)}` });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => jwksServer!.listen(0, '127.0.0.1', r));
  const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;

  mesh = await startMesh(['examples/httpbin'], { isolation: 'none', extraArgs: ['--store', 'etcd', '--control-replicas', '3'] });
  const m = mesh;
  // weft up starts the first replica alone: it campaigns first.
  await eventually('the first replica to lead', () => saysLeading(m, 'control'));
  assert.ok(!saysLeading(m, 'control-1') && !saysLeading(m, 'control-2'));
  const applied = await m.weft(
    ['apply', '-f', '-'],
    `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: httpbin-jwt, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  jwtRules:
  - { issuer: "${ISSUER}", audiences: [httpbin], jwksUri: "${jwksUri}" }
`,
  );
  assert.equal(applied.code, 0, applied.stderr);
  const sleepPod = m.workload('sleep');
  const withToken = async (token: string): Promise<number> => (await callAs(sleepPod, 'http://httpbin:8000/get', { headers: { authorization: `Bearer ${token}` } })).status;
  const tokenA = await keys[0]!.sign('alice');
  await eventually('a token signed with key a to pass', async () => ((await withToken(tokenA)) === 200 ? true : undefined), 30_000);
  assert.equal(await withToken(`${tokenA.slice(0, -4)}AAAA`), 401, 'a bad signature is refused');
  // Every replica compiled the policy and pushes the document; a fetch by any but the leader would have shown by now.
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(fetches.length >= 1, 'the leader fetched');
  assert.deepEqual([...new Set(fetches.map((f) => f.replica))], ['control'], `fetches: ${JSON.stringify(fetches)}`);
  // httpbin's sidecar uses the replica its own order puts first (src/proxy/control/replica-order.ts): for
  // default/httpbin over three replicas that is control-2. weft up starts the replicas one after another, so when
  // the leader is killed control-1, next in line, takes the lease, and the rotated key reaches httpbin through
  // control-2, a follower.
  const home = replicaOrder(['control', 'control-1', 'control-2'], replicaKey('default', 'httpbin'))[0];
  assert.equal(home, 'control-2', 'the test is laid out for httpbin on the third replica');
  assert.equal(await httpbinReplica(m), home, 'httpbin starts on the replica its order puts first');

  const leaderPid = replicas(m).find((r) => r.name === 'control')!.pid!;
  const killedAt = Date.now();
  process.kill(leaderPid, 'SIGKILL');
  await eventually('control-1 to take the lease', () => saysLeading(m, 'control-1'), 30_000);
  const takeover = await eventually('the new leader to fetch', () => fetches.find((f) => f.at > killedAt), 30_000);
  t.diagnostic(`the new leader fetched ${takeover.at - killedAt} ms after the old one was killed (lease TTL 5 s)`);
  assert.equal(takeover.replica, 'control-1');
  assert.ok(!saysLeading(m, 'control-2'));

  // The provider rotates: key a is withdrawn, key b signs.
  const rotatedAt = Date.now();
  keys = [await signingKey('b')];
  const tokenB = await keys[0]!.sign('bob');
  await eventually('a token signed with key b to pass through the follower\'s push', async () => ((await withToken(tokenB)) === 200 ? true : undefined), 30_000);
  assert.equal(await withToken(tokenA), 401, 'key a is gone from the pushed document');
  const since = fetches.filter((f) => f.at >= rotatedAt);
  assert.ok(since.length >= 1);
  assert.deepEqual([...new Set(since.map((f) => f.replica))], ['control-1'], `fetches after the rotation: ${JSON.stringify(since)}`);
  assert.equal(await httpbinReplica(m), 'control-2', 'the rotated key came through a follower');
});

/**
 * Three control-plane replicas over a three-member etcd (`weft up --store etcd --etcd-members 3
 * --control-replicas 3`), httpbin + sleep on loopback, a steady request loop through both sidecars. The replica
 * holding the leader lease and one follower are killed at once; a change is applied through the survivor while
 * they are down. The control plane is not on the request path, so no request may fail; every proxy must find a
 * replica that answers and be in sync again; the change must reach every proxy (a response header sleep's sidecar
 * adds, and a new acknowledged config on each); and the lease must pass to a replica that is alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlClient } from '../src/cli/client.js';
import type { Resource } from '../src/config/resource.js';
import type { ProxyStatus } from '../src/control/push-server.js';
import { processAlive } from '../src/mesh/process-alive.js';
import { phasedLoad } from '../bench/phased-load.js';
import type { PhaseFigures } from '../bench/phased-load.js';
import { cleanup } from './support/cleanup.js';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { assertLostNone, phaseNamed, reportPhases } from './support/phase-checks.js';

let mesh: MeshRun | undefined;
cleanup('mesh-replicas-failover', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

interface Replica {
  name: string;
  address: string;
  pid: number | null;
  log: string;
}

function replicas(m: MeshRun): Replica[] {
  const file = m.mesh();
  return [
    { name: 'control', ...file.control },
    ...(file.replicas ?? []).map((r, i) => ({ name: `control-${i + 1}`, ...r })),
  ].map((r) => ({ ...r, log: path.join(m.stateDir, 'logs', `${r.name}.log`) }));
}

function clientOf(m: MeshRun, address: string): ControlClient {
  return new ControlClient({
    address,
    credential: fs.readFileSync(path.join(m.stateDir, 'admin.credential'), 'utf8').trim(),
    caPem: fs.readFileSync(path.join(m.stateDir, 'ca', 'trust-bundle.pem'), 'utf8'),
  });
}

/** Every proxy as the replica it is connected to reports it; replicas that do not answer report none. */
async function connectedProxies(m: MeshRun): Promise<Map<string, ProxyStatus & { replica: string }>> {
  const out = new Map<string, ProxyStatus & { replica: string }>();
  for (const r of replicas(m)) {
    const client = clientOf(m, r.address);
    try {
      for (const p of (await client.proxies()) as ProxyStatus[]) if (p.connected) out.set(p.id, { ...p, replica: r.name });
    } catch {
      // a replica that is down or restarting
    } finally {
      await client.close();
    }
  }
  return out;
}

const synced = (p: ProxyStatus): boolean => p.sentVersion !== null && p.sentVersion === p.ackedVersion;
const PROXIES = ['sidecar/default/httpbin', 'sidecar/default/sleep'];

/** Lines of a replica's log that say it took or lost the lease, in order. */
function leaseLines(r: Replica): string[] {
  if (!fs.existsSync(r.log)) return [];
  return fs.readFileSync(r.log, 'utf8').split('\n').filter((l) => l.includes('"leading:') || l.includes('"no longer leading"'));
}

const marked: Resource = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'httpbin', namespace: 'default', labels: {}, annotations: {} },
  spec: { hosts: ['httpbin'], http: [{ headers: { response: { add: { 'x-failover-change': 'applied' } } }, route: [{ destination: { host: 'httpbin' } }] }] },
};

test('killing the leading replica and a follower under load loses no request; proxies fail over and get a change made meanwhile', async (t) => {
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none', extraArgs: ['--store', 'etcd', '--etcd-members', '3', '--control-replicas', '3'] });
  const m = mesh;
  const all = replicas(m);
  assert.equal(all.length, 3);
  const leading = (r: Replica): boolean => leaseLines(r).at(-1)?.includes('"leading:') ?? false;
  const inSync = (): Promise<Map<string, ProxyStatus & { replica: string }>> =>
    eventually('every proxy in sync', async () => {
      const now = await connectedProxies(m);
      return PROXIES.every((id) => now.get(id) !== undefined && synced(now.get(id)!)) ? now : undefined;
    });
  let leader = await eventually('a replica to lead', () => all.find(leading));
  let before = await inSync();
  // Each proxy starts on the replica its own order puts first (src/proxy/control/replica-order.ts): httpbin's and
  // sleep's sidecars may use two replicas, neither of them the leader. Then the lease is moved first, so that the
  // two killed below are the ones every proxy uses: the leader is killed (weft up starts it again) and the next in
  // line, a replica the proxies use, takes the lease.
  const used = new Set(PROXIES.map((id) => before.get(id)?.replica));
  if (used.size > 1 && !used.has(leader.name)) {
    const moved = leader;
    process.kill(moved.pid!, 'SIGKILL');
    leader = await eventually('the lease to pass to a replica the proxies use', () => replicas(m).find((r) => used.has(r.name) && leading(r)), 30_000);
    await eventually(`${moved.name} started again`, () => {
      const r = replicas(m).find((x) => x.name === moved.name);
      return r?.pid !== null && r?.pid !== moved.pid && fs.readFileSync(r!.log, 'utf8').split('"control plane ready"').length === 3 ? true : undefined;
    }, 30_000);
    before = await inSync();
  }
  // What the CLI asks of proxies is asked of every replica: the list holds both, and a proxy's config comes from the
  // replica it is connected to, whichever replica the CLI names first.
  const cli = await ControlClient.fromStateDir(m.stateDir);
  try {
    const listed = (await cli.proxies()) as ProxyStatus[];
    assert.deepEqual(PROXIES.filter((id) => listed.some((p) => p.id === id && p.connected)), PROXIES);
    for (const id of PROXIES) assert.equal((await cli.proxyConfig(id)).config.version, before.get(id)?.ackedVersion, id);
  } finally {
    await cli.close();
  }
  const now = replicas(m);
  // The follower killed is one the proxies use (unless only the leader is), so that every proxy must fail over.
  const follower = now.find((r) => r.name !== leader.name && used.has(r.name)) ?? (now.find((r) => r.name !== leader.name) as Replica);
  const survivor = now.find((r) => r.name !== leader.name && r.name !== follower.name) as Replica;
  for (const id of PROXIES) assert.notEqual(before.get(id)?.replica, survivor.name, `${id} must start on a replica that will be killed`);
  const survivorLeaseLines = leaseLines(survivor).length;

  const sleepPod = m.workload('sleep');
  const load = phasedLoad(() => callAs(sleepPod, 'http://httpbin:8000/get'), 'before');
  let phases: PhaseFigures[] = [];
  let reconnectedMs = 0;
  try {
    await sleep(1000);
    await load.phase('failover');
    const killedAt = Date.now();
    for (const r of [leader, follower]) process.kill(r.pid!, 'SIGKILL');
    // The change goes in through the one replica left while the other two are down.
    const client = clientOf(m, survivor.address);
    try {
      await client.apply([marked]);
    } finally {
      await client.close();
    }
    const after = await eventually(
      'every proxy connected to a live replica, in sync, with a new config',
      async () => {
        const now = await connectedProxies(m);
        const ok = PROXIES.every((id) => {
          const p = now.get(id);
          return p !== undefined && synced(p) && p.ackedVersion !== before.get(id)?.ackedVersion;
        });
        return ok ? now : undefined;
      },
      30_000,
    );
    reconnectedMs = Date.now() - killedAt;
    t.diagnostic(`proxies in sync on the change ${reconnectedMs} ms after the kill: ${PROXIES.map((id) => `${id} on ${after.get(id)?.replica}`).join(', ')}`);
    // The failover phase lasts past the killed replicas' restarts, so it is long enough to count on a busy machine.
    await sleep(2000);
    await load.phase('after');
    await eventually('the change on the request path', async () => (await callAs(sleepPod, 'http://httpbin:8000/get')).headers['x-failover-change'] === 'applied', 15_000);
    await sleep(1000);
  } finally {
    phases = await load.stop();
  }
  reportPhases(t, phases);
  assertLostNone(phaseNamed(phases, 'before'), 20);
  assertLostNone(phaseNamed(phases, 'failover'), 20);
  assertLostNone(phaseNamed(phases, 'after'), 10);

  // The lease passed on: the survivor (first in line) leads now; the killed leader was replaced by a new process.
  await eventually('the survivor to take the lease', () => leaseLines(survivor).slice(survivorLeaseLines).at(-1)?.includes('"leading:'), 20_000);
  assert.ok(!processAlive(leader.pid!), 'the killed leader is gone');
});

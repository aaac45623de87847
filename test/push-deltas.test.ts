/**
 * Incremental pushes end to end: a real control plane, proxies on real mTLS push streams (the proxy's own
 * ControlConnection, each config checked by the proxy's own acceptProxyConfig). A change reaches the proxies as a
 * delta, and what they merge is exactly the config the control plane compiled; a proxy that does not hold the
 * version a delta is against (it refused that one) asks for its whole config and converges.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import { runControlPlane } from '../src/control/control-plane.js';
import type { RunningControlPlane } from '../src/control/control-plane.js';
import type { ProxyStatus } from '../src/control/push-server.js';
import { meshConfigWithDefaults } from '../src/config/kinds/mesh-config.js';
import type { Resource } from '../src/config/resource.js';
import { ControlClient } from '../src/cli/client.js';
import { ControlConnection } from '../src/proxy/control/control-connection.js';
import { WorkloadCertificate } from '../src/proxy/tls/workload-certificate.js';
import { acceptProxyConfig } from '../src/proxy/config/compiled-config.js';
import { systemClock } from '../src/clock.js';
import { CONTROL_PLANE_SERVICE_ACCOUNT } from '../src/push/protocol.js';
import { cleanup } from './support/cleanup.js';

let dir: string;
let cp: RunningControlPlane | undefined;
let client: ControlClient | undefined;
const connections: ControlConnection[] = [];

cleanup('push-deltas control plane', async () => {
  for (const c of connections) c.stop();
  await client?.close();
  await cp?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const meta = (name: string, labels: Record<string, string> = {}) => ({ namespace: 'shop', name, labels, annotations: {} });
const serviceOf = (name: string, ports: number[]): Resource =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: meta(name), spec: { selector: { app: name }, ports: ports.map((port) => ({ name: `http-${port}`, port, targetPort: 8080 })) } }) as unknown as Resource;
const workloadOf = (name: string): Resource =>
  ({ apiVersion: 'weft.dev/v1alpha1', kind: 'Workload', metadata: meta(name, { app: name }), spec: { serviceAccount: name, command: ['true'], ports: [{ name: 'http', containerPort: 8080 }] } }) as unknown as Resource;
const NAMES = ['web', 'cart', 'ratings'];

interface Proxy {
  name: string;
  /** Every config handed to the proxy's apply, merged from deltas or whole. */
  applied: Array<{ version: string; config: unknown }>;
  /** Set to hold the next apply until the test decides. */
  hold: { until: Promise<void>; fail: boolean } | undefined;
}

async function startProxy(name: string, bundle: string): Promise<Proxy> {
  const p: Proxy = { name, applied: [], hold: undefined };
  const cert = new WorkloadCertificate(`spiffe://cluster.local/ns/shop/sa/${name}`, systemClock, () => undefined);
  const control = new ControlConnection({
    urls: [`https://${cp!.address}`],
    bootstrapCaPem: bundle,
    controlSpiffeId: `spiffe://cluster.local/ns/weft-system/sa/${CONTROL_PLANE_SERVICE_ACCOUNT}`,
    cert,
    node: { role: 'sidecar', namespace: 'shop', name, podIP: '127.0.0.1' },
    clock: systemClock,
    log: { info: () => undefined, warn: () => undefined },
    onConfig: async (config) => {
      const hold = p.hold;
      p.hold = undefined;
      const checked = acceptProxyConfig(config);
      if (hold) {
        await hold.until;
        if (hold.fail) throw new Error('refused by the test');
      }
      p.applied.push({ version: checked.version, config: checked.raw });
      return checked.version;
    },
    runtimeReport: () => ({ configVersion: null, time: new Date().toISOString(), certificates: [], clusters: [], truncated: false }),
  });
  connections.push(control);
  const token = await client!.issueToken({ namespace: 'shop', serviceAccount: name, workload: name });
  await cert.issue((csr) => control.signWithToken(csr, token, { namespace: 'shop', serviceAccount: name, workload: name }));
  control.start();
  return p;
}

async function statusOf(name: string): Promise<ProxyStatus> {
  const rows = (await client!.proxies()) as ProxyStatus[];
  const row = rows.find((r) => r.id === `sidecar/shop/${name}`);
  assert.ok(row, `no status for ${name}`);
  return row;
}

/** Polls (the control plane's own view) until `ok`; the test's timeout bounds it. */
async function until(ok: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const inSync = async (name: string, not?: string | null): Promise<ProxyStatus> => {
  let last: ProxyStatus | undefined;
  // Before its first hello the proxy has no status yet.
  await until(async () => {
    const rows = (await client!.proxies()) as ProxyStatus[];
    last = rows.find((r) => r.id === `sidecar/shop/${name}`);
    return last !== undefined && last.connected && last.sentVersion !== null && last.ackedVersion === last.sentVersion && last.ackedVersion !== not;
  });
  return last!;
};

let proxies: Proxy[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-deltas-'));
  cp = await runControlPlane({ stateDir: dir, listen: '127.0.0.1:0', bootstrap: meshConfigWithDefaults(undefined) });
  const bundle = fs.readFileSync(path.join(dir, 'ca', 'trust-bundle.pem'), 'utf8');
  client = new ControlClient({ address: cp.address, credential: fs.readFileSync(path.join(dir, 'admin.credential'), 'utf8').trim(), caPem: bundle });
  await client.apply([...NAMES.map((n) => serviceOf(n, [8080])), ...NAMES.map(workloadOf)]);
  for (const [i, n] of NAMES.entries()) {
    await client.setStatus({ kind: 'Workload', namespace: 'shop', name: n }, { phase: 'Running', podIP: `127.0.0.${i + 2}`, restarts: 0 });
  }
  proxies = await Promise.all(['web', 'cart'].map((n) => startProxy(n, bundle)));
  for (const p of proxies) await inSync(p.name);
});

test('a changed service reaches every proxy as a delta, and each merges exactly the config compiled for it', async () => {
  const before = new Map<string, string | null>();
  for (const p of proxies) before.set(p.name, (await statusOf(p.name)).ackedVersion);
  await client!.apply([serviceOf('ratings', [8080, 9090])]);
  for (const p of proxies) {
    const s = await inSync(p.name, before.get(p.name));
    assert.equal(s.sentAs, 'config-delta', `${p.name} was sent a delta`);
    assert.equal(s.resyncs, 0);
    const merged = p.applied.at(-1);
    assert.equal(merged?.version, s.ackedVersion);
    const running = await client!.proxyConfig(`sidecar/shop/${p.name}`);
    assert.deepEqual(merged?.config, JSON.parse(JSON.stringify(running.config)), 'merged on the proxy = compiled on the control plane');
    const ratings = running.config.outbound.services.find((x) => x.host === 'ratings.shop.svc.cluster.local');
    assert.deepEqual(ratings?.ports.map((x) => x.port), [8080, 9090]);
  }
});

test('a proxy that lacks the version a delta is against asks for its whole config and converges', async () => {
  const cart = proxies.find((p) => p.name === 'cart')!;
  const held = (await statusOf('cart')).ackedVersion;
  // cart holds its next config (v2) unapplied; meanwhile a second change is written as a delta against v2.
  let release: () => void = () => undefined;
  cart.hold = { until: new Promise<void>((r) => (release = r)), fail: true };
  await client!.apply([serviceOf('ratings', [8080])]);
  let v2: string | null = null;
  await until(async () => {
    v2 = (await statusOf('cart')).sentVersion;
    return v2 !== held;
  });
  await client!.apply([serviceOf('cart', [8080, 8443])]);
  await until(async () => (await statusOf('cart')).sentVersion !== v2);
  // cart refuses v2: it still runs the held version, so the delta against v2 cannot be merged.
  release();
  const s = await inSync('cart', held);
  assert.equal(s.resyncs, 1, 'cart asked for its whole config once');
  assert.equal(s.sentAs, 'config', 'and got it whole');
  assert.equal(s.lastNack?.version, v2);
  const running = await client!.proxyConfig('sidecar/shop/cart');
  assert.deepEqual(cart.applied.at(-1)?.config, JSON.parse(JSON.stringify(running.config)));
  assert.deepEqual(
    running.config.outbound.services.find((x) => x.host === 'cart.shop.svc.cluster.local')?.ports.map((x) => x.port),
    [8080, 8443],
  );
  // web, which refused nothing, took both changes as deltas.
  const web = await inSync('web');
  assert.equal(web.sentAs, 'config-delta');
  assert.equal(web.resyncs, 0);
});

/**
 * Admission over the real API: a global HostClaim grants shop.example.com to namespace shop; a VirtualService for
 * that host in shop is admitted, the same host routed from default is refused with the claim that forbids it, and
 * `weft apply --force` applies it anyway, prints what it overrode and leaves the override in the audit record;
 * `weft analyze` on the running mesh then reports both VirtualServices.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ControlClient } from '../src/cli/client.js';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

const CLAIM = `apiVersion: weft.dev/v1alpha1
kind: HostClaim
metadata: { name: shop-hosts, namespace: weft-system }
spec: { hosts: [shop.example.com], namespaces: [shop] }
`;

const routeFrom = (namespace: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: ${namespace} }
spec:
  hosts: [shop.example.com]
  http: [{ route: [{ destination: { host: httpbin.default.svc.cluster.local } }] }]
`;

const IST0109 = 'VirtualService default/shop: [IST0109] spec.hosts[0]: The VirtualServices default/shop,shop/shop associated with mesh gateway define the same host '
  + 'shop.example.com, which can lead to undefined behavior (fix: merge the conflicting VirtualServices into one resource)';
const WEFT0110 = 'VirtualService default/shop: [WEFT0110] spec.hosts[0]: host shop.example.com is claimed by HostClaim weft-system/shop-hosts for shop; '
  + 'VirtualService in namespace default may not route it (fix: use a host outside the claim, move the VirtualService to shop, or have the claim grant default)';

describe('host claims at apply', () => {
  let mesh: MeshRun;
  before(async () => {
    mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  });
  after(async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  });

  test('the owning namespace may route the claimed host', async () => {
    assert.deepEqual(await mesh.weft(['apply', '-f', '-'], CLAIM), { code: 0, stdout: 'hostclaim.weft.dev/shop-hosts created\n', stderr: '' });
    assert.deepEqual(await mesh.weft(['apply', '-f', '-'], routeFrom('shop')), { code: 0, stdout: 'virtualservice.networking.istio.io/shop created\n', stderr: '' });
  });

  test('another namespace is refused with the claim that forbids it, and nothing is stored', async () => {
    const r = await mesh.weft(['apply', '-f', '-'], routeFrom('default'));
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr: `Error from server (Invalid): admission refused the batch (apply with --force to override, which is audited):\n${IST0109}\n${WEFT0110}\n`,
    });
    const got = await mesh.weft(['get', 'virtualservice', 'shop', '-n', 'default']);
    assert.equal(got.code, 1);
  });

  test('--force applies it, warns what it overrode, and the audit record names the override', async () => {
    const r = await mesh.weft(['apply', '--force', '-f', '-'], routeFrom('default'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'virtualservice.networking.istio.io/shop created\n');
    assert.deepEqual(r.stderr.split('\n').filter((l) => l.startsWith('Warning: ')).map((l) => l.split(' ').slice(1, 4).join(' ')), [
      'Error [IST0109] VirtualService',
      'Error [WEFT0110] VirtualService',
    ]);
    const client = await ControlClient.fromStateDir(mesh.stateDir);
    try {
      const changes = (await client.auditLog({ kind: 'change' })).flatMap((e) => (e.type === 'change' ? [e] : []));
      const claim = changes.find((e) => e.key.kind === 'HostClaim');
      const forced = changes.find((e) => e.key.kind === 'VirtualService' && e.key.namespace === 'default');
      assert.ok(claim !== undefined && forced !== undefined);
      assert.equal(forced.verb, 'create');
      // The same principal, named in the chained record with the error codes it overrode.
      assert.deepEqual(forced.actor, { ...claim.actor, forced: ['IST0109', 'WEFT0110'] });
    } finally {
      await client.close();
    }
  });

  test('weft analyze on the running mesh reports what was forced, namespace by namespace', async () => {
    const r = await mesh.weft(['analyze', '-n', 'default', '-o', 'json']);
    assert.equal(r.code, 1, r.stderr);
    const findings = (JSON.parse(r.stdout) as { findings: { code: string; object: { namespace: string; name: string } }[] }).findings;
    assert.deepEqual(findings.map((f) => `${f.code} ${f.object.namespace}/${f.object.name}`), ['IST0109 default/shop', 'WEFT0110 default/shop']);
    const shop = await mesh.weft(['analyze', '-n', 'shop']);
    assert.equal(shop.code, 1);
    assert.deepEqual(shop.stdout.split('\n').filter((l) => l.startsWith('Error')).map((l) => l.split(' ').slice(0, 3).join(' ')), ['Error [IST0109] VirtualService']);
  });
});

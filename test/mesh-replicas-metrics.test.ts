/**
 * `weft up --store etcd --control-replicas 3 --prometheus`: every replica serves its own metrics listener and
 * Prometheus scrapes each as a target of its own, labelled with the replica's name. The metrics are each replica's:
 * the proxies connected across replicas add up to the mesh's two, and a change applied through one replica shows in
 * every replica's own store revision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { request } from 'undici';
import { cleanup } from './support/cleanup.js';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

let mesh: MeshRun | undefined;
cleanup('mesh-replicas-metrics', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url);
  assert.equal(res.statusCode, 200, url);
  return (await res.body.json()) as T;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

test('each control-plane replica is a Prometheus target of its own, with its own figures', async () => {
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none', extraArgs: ['--store', 'etcd', '--control-replicas', '3', '--prometheus', '--prometheus-interval', '1s'] });
  const m = mesh;
  const prometheus = m.mesh().observability!.prometheus;
  const query = async (q: string): Promise<Sample[]> => (await getJson<{ data: { result: Sample[] } }>(`http://${prometheus}/api/v1/query?query=${encodeURIComponent(q)}`)).data.result;

  const control = await eventually('three healthy control-plane targets', async () => {
    const t = await getJson<{ data: { activeTargets: { labels: Record<string, string>; health: string; scrapeUrl: string }[] } }>(`http://${prometheus}/api/v1/targets`);
    const up = t.data.activeTargets.filter((x) => x.labels['job'] === 'pilot' && x.health === 'up');
    return up.length === 3 ? up : undefined;
  }, 60_000);
  assert.deepEqual(control.map((t) => t.labels['replica']).sort(), ['control', 'control-1', 'control-2']);
  assert.equal(new Set(control.map((t) => t.scrapeUrl)).size, 3, 'three listeners');
  for (const t of control) assert.equal(t.labels['app'], 'weft-control');

  // httpbin's and sleep's sidecars are connected to replicas; summed over replicas, there are two.
  await eventually('two proxies counted across replicas', async () => {
    const r = await query('sum(pilot_xds)');
    return r.length === 1 && r[0]!.value[1] === '2' ? true : undefined;
  }, 30_000);

  // A change applied through the first replica: every replica's own store revision moves to the same value.
  const before = Number((await query('max(weft_store_revision)'))[0]!.value[1]);
  const r = await m.weft(['apply', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata: { name: counted, namespace: default }\nspec: { ports: [{ name: http, port: 80 }] }\n');
  assert.equal(r.code, 0, r.stderr);
  await eventually('every replica at the new revision', async () => {
    const revisions = await query('weft_store_revision');
    return revisions.length === 3 && revisions.every((s) => Number(s.value[1]) > before) && new Set(revisions.map((s) => s.value[1])).size === 1 ? true : undefined;
  }, 30_000);
});

/**
 * Istio's bookinfo routing tasks, with Istio's own samples (examples/bookinfo/networking), enforced by sidecars:
 * request routing (all to v1, then jason to v2), traffic shifting (50/50 v1/v3 within tolerance) and fault injection
 * (ratings abort, then a 7s delay, for jason); and a destination subset honoured at the ingress gateway. One mesh
 * for the file; calls are made as the app of the calling pod would make them.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { request } from 'undici';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { cleanup } from './support/cleanup.js';
import { meshProxyIds, untilRunning } from './support/config-sync.js';

let mesh: MeshRun;

before(async () => {
  mesh = await startMesh(['examples/bookinfo'], { isolation: 'none' });
});
cleanup('mesh-traffic-bookinfo', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

async function apply(file: string): Promise<void> {
  const r = await mesh.weft(['apply', '-f', `examples/bookinfo/networking/${file}`]);
  assert.equal(r.code, 0, r.stderr);
}

/** The reviews pod that answers productpage's call. */
async function reviewsPod(headers: Record<string, string> = {}): Promise<string> {
  const r = await callAs(mesh.workload('productpage-v1'), 'http://reviews:9080/reviews/0', { headers });
  assert.equal(r.status, 200);
  return (JSON.parse(r.body) as { podname: string }).podname;
}

async function reviewsPods(n: number, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const pod = await reviewsPod(headers);
    seen.set(pod, (seen.get(pod) ?? 0) + 1);
  }
  return seen;
}

test('virtual-service-all-v1 with destination-rule-all: every call to reviews goes to v1', async () => {
  await apply('destination-rule-all.yaml');
  await apply('virtual-service-all-v1.yaml');
  await eventually('routes to v1 only', async () => ((await reviewsPods(6)).size === 1 ? true : undefined));
  assert.deepEqual([...(await reviewsPods(20)).keys()], ['reviews-v1']);
});

test('reviews-test-v2: jason gets v2, everyone else v1', async () => {
  await apply('virtual-service-reviews-test-v2.yaml');
  await eventually('jason routed to v2', async () => ((await reviewsPod({ 'end-user': 'jason' })) === 'reviews-v2' ? true : undefined));
  assert.deepEqual([...(await reviewsPods(10, { 'end-user': 'jason' })).keys()], ['reviews-v2']);
  assert.deepEqual([...(await reviewsPods(10, { 'end-user': 'someone' })).keys()], ['reviews-v1']);
  assert.deepEqual([...(await reviewsPods(10)).keys()], ['reviews-v1']);
});

test('reviews-50-v3: about half of 200 calls to v1, the rest to v3, none to v2', async () => {
  await apply('virtual-service-reviews-50-v3.yaml');
  await eventually('v3 in the split', async () => ((await reviewsPods(10)).has('reviews-v3') ? true : undefined));
  const seen = await reviewsPods(200);
  assert.deepEqual([...seen.keys()].sort(), ['reviews-v1', 'reviews-v3']);
  // Binomial(200, 0.5): a standard deviation of about 7; 30 either side is more than four.
  const v1 = seen.get('reviews-v1')!;
  assert.ok(v1 >= 70 && v1 <= 130, `v1 got ${v1} of 200`);
});

test('ratings-test-abort: jason gets 500 from the fault, others the ratings', async () => {
  await apply('virtual-service-ratings-test-abort.yaml');
  const reviews = mesh.workload('reviews-v2');
  const jason = await eventually('the abort for jason', async () => {
    const r = await callAs(reviews, 'http://ratings:9080/ratings/0', { headers: { 'end-user': 'jason' } });
    return r.status === 500 ? r : undefined;
  });
  assert.equal(jason.body, 'fault filter abort');
  const other = await callAs(reviews, 'http://ratings:9080/ratings/0', { headers: { 'end-user': 'someone' } });
  assert.equal(other.status, 200);
  assert.deepEqual(JSON.parse(other.body), { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
});

test('ratings-test-delay: jason waits 7s for the ratings, others do not', async () => {
  await apply('virtual-service-ratings-test-delay.yaml');
  const reviews = mesh.workload('reviews-v2');
  // What 'someone' gets is 200 under the abort rule too: wait until reviews-v2's sidecar runs the delay rule.
  const reviewsProxy = meshProxyIds(mesh).filter((id) => id.endsWith('/reviews-v2'));
  await untilRunning(mesh, 'the delay rule at reviews-v2', (config) => JSON.stringify(config.outbound).includes('"fixedDelayMs":7000'), reviewsProxy);
  const started = Date.now();
  const jason = await callAs(reviews, 'http://ratings:9080/ratings/0', { headers: { 'end-user': 'jason' } });
  const took = Date.now() - started;
  assert.equal(jason.status, 200);
  assert.ok(took >= 6900 && took < 12_000, `jason waited ${took}ms`);
  const quick = Date.now();
  assert.equal((await callAs(reviews, 'http://ratings:9080/ratings/0', { headers: { 'end-user': 'someone' } })).status, 200);
  assert.ok(Date.now() - quick < 2000);
});

test('at the ingress gateway a destination subset is honoured too', async () => {
  // destination-rule-all is applied above; this rule sends /reviews/ to subset v3 only.
  const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-at-the-edge }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{ uri: { prefix: /reviews/ } }]
    route: [{ destination: { host: reviews, subset: v3 } }]
`;
  assert.equal((await mesh.weft(['apply', '-f', '-'], vs)).code, 0);
  const pod = async (): Promise<string | undefined> => {
    const res = await request(`http://127.0.0.1:${mesh.ingressPort}/reviews/0`);
    const body = await res.body.text();
    return res.statusCode === 200 ? (JSON.parse(body) as { podname: string }).podname : undefined;
  };
  await eventually('the edge route', pod);
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 12; i++) seen.add(await pod());
  assert.deepEqual([...seen], ['reviews-v3']);
});

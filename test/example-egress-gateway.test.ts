/**
 * examples/egress-gateway under `weft up --isolation=netns`, as its README runs it: edition.cnn.com (stood in for by
 * a server in an "outside" network namespace, test/support/outside-netns.ts, its ServiceEntry pinned there) is
 * reached through the egress gateway by curl, refused with 403 at the gateway for sleep (config/callers.yaml), and
 * never dialled directly by a sidecar. Root, `ip netns`, iptables, setpriv, curl, getent and openssl are required;
 * without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { eventually } from './support/mesh-process.js';
import { accessLines } from './support/access-log.js';
import type { AccessLine } from './support/access-log.js';
import { egressFile, httpCall, httpsCall } from './support/egress-calls.js';

const w = await egressFile('example-egress-gateway');
const CNN = 'edition.cnn.com';

/** The example's entry, with its destination pinned to the outside server instead of the public name. */
const standIn = (address: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: cnn, namespace: default }
spec:
  hosts: [${CNN}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: "${address}" }]
  ports:
  - { number: 80, name: http-port, protocol: HTTP }
  - { number: 443, name: https, protocol: HTTPS }
`;

test('examples/egress-gateway: allowed caller out through the gateway, denied caller 403, direct path refused', { skip: w.skip, timeout: 170_000 }, async (t) => {
  await w.start('198.19.250', () => [], ['examples/egress-gateway']);
  const m = w.mesh();
  await w.applyAndSync({ yaml: standIn(w.outside().address) }, ['curl', 'sleep', 'istio-egressgateway']);
  await w.applyAndSync({ file: 'examples/egress-gateway/config/callers.yaml' }, ['istio-egressgateway']);
  const gatewayLog = path.join(m.stateDir, 'logs', 'istio-system.istio-egressgateway.log');
  type Line = AccessLine & { peer?: string; destinationService?: string };
  const gatewayLines = (): Line[] => accessLines(gatewayLog, 'gateway') as Line[];

  await t.test('curl reaches edition.cnn.com through the egress gateway, which names it as the caller', async () => {
    const before = gatewayLines().length;
    const out = await httpCall(w, 'curl', CNN);
    assert.ok(out.reached, out.detail);
    const line = await eventually('the gateway\'s access line', () => gatewayLines().slice(before).find((l) => l.status === 200));
    assert.deepEqual([line.peer, line.destinationService], ['spiffe://cluster.local/ns/default/sa/curl', CNN]);
  });

  await t.test('sleep is refused at the gateway with 403', async () => {
    const out = await httpCall(w, 'sleep', CNN);
    assert.equal(out.status, 403, out.detail);
    assert.equal(out.reached, false, out.detail);
  });

  await t.test('HTTPS to edition.cnn.com outside the route is closed by the sidecar, not dialled directly', async () => {
    const out = await httpsCall(w, 'curl', CNN, true);
    assert.equal(out.reached, false, out.detail);
    const log = path.join(m.stateDir, 'logs', 'default.curl.sidecar.log');
    const refusal = await eventually('the refusal in curl\'s access log', () =>
      (accessLines(log, 'outbound') as (AccessLine & { responseFlags?: string; egress?: { decision: string; sni?: string } })[]).find((l) => l.egress?.decision === 'denied' && l.egress.sni === CNN));
    assert.equal(refusal.responseFlags, 'NR');
  });
});

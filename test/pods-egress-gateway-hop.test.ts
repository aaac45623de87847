/**
 * The hop from a sidecar to the egress gateway (`weft up --isolation=netns`): the egress gateway is the registry's
 * `istio-egressgateway.<root>.svc.cluster.local`, so Istio's egress gateway task runs as written, the root namespace
 * being `istio-system` here as in Istio: a VirtualService bound to `mesh` and to the gateway sends a pod's call for an
 * external host (a server in an "outside" network namespace, test/support/outside-netns.ts) to the gateway and the
 * gateway on to the host, over HTTP, HTTPS passed through by SNI, and mTLS with the mesh identities (ISTIO_MUTUAL).
 * Root, `ip netns`, iptables, setpriv, curl, getent and openssl are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { eventually } from './support/mesh-process.js';
import { accessLines } from './support/access-log.js';
import { egressFile, httpCall, httpsCall, PLAIN, SECURE } from './support/egress-calls.js';
import type { AccessLine } from './support/access-log.js';
import { EGRESS_GATEWAY_HOST, egressGateway, mutualEgressRoute, staticEntry } from './support/egress-gateway-task.js';

const w = await egressFile('egress-gateway-hop');

/** Istio's task, HTTP part: mesh → the egress gateway (subset from a DestinationRule) → the external host. */
function httpThroughGateway(address: string): string {
  return `${staticEntry({ name: 'plain', namespace: 'external', host: PLAIN, address, port: { number: 80, name: 'http-port', protocol: 'HTTP' } })}---
${egressGateway({ name: 'istio-egressgateway', host: PLAIN, port: { number: 80, name: 'http', protocol: 'HTTP' } })}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: egressgateway-for-plain, namespace: default }
spec:
  host: ${EGRESS_GATEWAY_HOST}
  subsets: [{ name: plain }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: direct-plain-through-egress-gateway, namespace: default }
spec:
  hosts: [${PLAIN}]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{ gateways: [mesh], port: 80 }]
    route: [{ destination: { host: ${EGRESS_GATEWAY_HOST}, subset: plain, port: { number: 80 } } }]
  - match: [{ gateways: [istio-egressgateway], port: 80 }]
    route: [{ destination: { host: ${PLAIN}, port: { number: 80 } }, weight: 100 }]
`;
}

/** Istio's task, HTTPS part: TLS routed by SNI, mesh → the gateway on 443 → the external host, passed through. */
function httpsThroughGateway(address: string): string {
  return `${staticEntry({ name: 'secure', namespace: 'external', host: SECURE, address, port: { number: 443, name: 'tls', protocol: 'TLS' } })}---
${egressGateway({ name: 'istio-egressgateway-secure', host: SECURE, port: { number: 443, name: 'tls', protocol: 'TLS' }, tlsMode: 'PASSTHROUGH' })}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: egressgateway-for-secure, namespace: default }
spec:
  host: ${EGRESS_GATEWAY_HOST}
  subsets: [{ name: secure }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: direct-secure-through-egress-gateway, namespace: default }
spec:
  hosts: [${SECURE}]
  gateways: [mesh, istio-egressgateway-secure]
  tls:
  - match: [{ gateways: [mesh], port: 443, sniHosts: [${SECURE}] }]
    route: [{ destination: { host: ${EGRESS_GATEWAY_HOST}, subset: secure, port: { number: 443 } } }]
  - match: [{ gateways: [istio-egressgateway-secure], port: 443, sniHosts: [${SECURE}] }]
    route: [{ destination: { host: ${SECURE}, port: { number: 443 } }, weight: 100 }]
`;
}

const MESH = `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh, namespace: istio-system }
spec:
  rootNamespace: istio-system
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`;

/**
 * Istio's task with mTLS on the hop: the Gateway's 443 server for the host says ISTIO_MUTUAL, the DestinationRule
 * to the gateway ISTIO_MUTUAL with the host as SNI; the sidecar's HTTP call on 80 goes to the gateway's 443.
 */
const MUTUAL = mutualEgressRoute(PLAIN, 'istio-egressgateway-secure');

/** Who may leave through the egress gateway: curl may reach the host, nobody else. */
const CALLERS_POLICY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: egress-callers, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: egressgateway } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: [cluster.local/ns/default/sa/curl] } }]
    to: [{ operation: { hosts: [${PLAIN}, "${PLAIN}:80"] } }]
`;

/** sleep's Sidecar imports the entries and the gateway, not the VirtualServices in default: no route to the gateway. */
const HIDING_SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: sleep-without-routes, namespace: default }
spec:
  workloadSelector: { labels: { app: sleep } }
  egress: [{ hosts: ["external/*", "istio-system/*"] }]
`;

const gatewayLog = (): string => path.join(w.mesh().stateDir, 'logs', 'istio-system.istio-egressgateway.log');

type GatewayLine = AccessLine & { destinationService?: string; peer?: string; method?: string };

/** The gateway's access lines for /egress calls, newest last. */
function gatewayCalls(): GatewayLine[] {
  return (accessLines(gatewayLog(), 'gateway') as GatewayLine[]).filter((l) => l.path === '/egress');
}

test('egress gateway hop: Istio\'s task through the registry\'s istio-egressgateway service', { skip: w.skip, timeout: 170_000 }, async (t) => {
  await w.start('198.19.251', (address) => [MESH, httpThroughGateway(address), httpsThroughGateway(address)]);
  const m = w.mesh();

  await t.test('the egress gateway is a service of the registry, its pod the endpoint, its identity Istio\'s', async () => {
    const r = await m.weft(['get', 'service', 'istio-egressgateway', '-n', 'istio-system', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const svc = JSON.parse(r.stdout) as { spec: { ports: { port: number }[] } };
    assert.deepEqual(svc.spec.ports.map((p) => p.port), [80, 443]);
    const cfg = await m.weft(['proxy-config', 'curl', 'endpoints', '-o', 'json']);
    assert.equal(cfg.code, 0, cfg.stderr);
    assert.ok(cfg.stdout.includes(m.mesh().egressGateway!.podIP), cfg.stdout);
    const wl = await m.weft(['get', 'workload', 'istio-egressgateway', '-n', 'istio-system', '-o', 'json']);
    const workload = JSON.parse(wl.stdout) as { spec: { serviceAccount: string }; status: { podIP: string } };
    assert.equal(workload.spec.serviceAccount, 'istio-egressgateway-service-account');
    assert.equal(workload.status.podIP, m.mesh().egressGateway!.podIP);
  });

  await t.test('HTTP: the sidecar sends the call to the egress gateway, the gateway on to the external host', async () => {
    const before = gatewayCalls().length;
    const out = await httpCall(w, 'curl', PLAIN);
    assert.ok(out.reached, out.detail);
    const line = await eventually('the gateway\'s access line for the call', () => gatewayCalls().slice(before).find((l) => l.status === 200));
    assert.equal(line.destinationService, PLAIN, JSON.stringify(line));
  });

  await t.test('HTTPS: the sidecar routes by SNI to the gateway, which passes it through to the host', async () => {
    const out = await httpsCall(w, 'curl', SECURE);
    assert.ok(out.reached, out.detail);
  });

  await t.test('ISTIO_MUTUAL: the hop is mTLS with the mesh identities, the gateway knows the caller', async () => {
    await w.applyAndSync({ yaml: MUTUAL }, ['curl', 'sleep', 'istio-egressgateway']);
    const before = gatewayCalls().length;
    const out = await httpCall(w, 'curl', PLAIN);
    assert.ok(out.reached, out.detail);
    const line = await eventually('the gateway\'s access line for the call', () => gatewayCalls().slice(before).find((l) => l.status === 200));
    assert.equal(line.peer, 'spiffe://cluster.local/ns/default/sa/curl', JSON.stringify(line));
  });

  await t.test('AuthorizationPolicy at the gateway decides by the caller\'s identity: curl leaves, sleep gets 403', async () => {
    await w.applyAndSync({ yaml: CALLERS_POLICY }, ['istio-egressgateway']);
    const allowed = await httpCall(w, 'curl', PLAIN);
    assert.ok(allowed.reached, allowed.detail);
    const before = gatewayCalls().length;
    const denied = await httpCall(w, 'sleep', PLAIN);
    assert.equal(denied.reached, false, denied.detail);
    assert.equal(denied.status, 403, denied.detail);
    const line = await eventually('the gateway\'s access line for the refusal', () => gatewayCalls().slice(before).find((l) => l.status === 403));
    assert.equal(line.peer, 'spiffe://cluster.local/ns/default/sa/sleep', JSON.stringify(line));
  });

  await t.test('the direct path is refused: a sidecar that does not see the route to the gateway does not leave', async () => {
    await w.applyAndSync({ yaml: HIDING_SIDECAR }, ['sleep']);
    const sidecarLog = path.join(m.stateDir, 'logs', 'default.sleep.sidecar.log');
    const before = accessLines(sidecarLog, 'outbound').length;
    // HTTP to the host's address with its name, as an app unaware of the mesh: the sidecar's own 502.
    const http = await httpCall(w, 'sleep', PLAIN);
    assert.equal(http.reached, false, http.detail);
    assert.equal(http.status, 502, http.detail);
    // TLS by SNI on 443 to the address: closed by the sidecar, never passed to the host.
    const tls = await httpsCall(w, 'sleep', SECURE);
    assert.equal(tls.reached, false, tls.detail);
    type Refusal = AccessLine & { responseFlags?: string; egress?: { decision: string; serviceEntry?: string } };
    const refusals = await eventually('both refusals in the sidecar\'s access log', () => {
      const lines = (accessLines(sidecarLog, 'outbound') as Refusal[]).slice(before).filter((l) => l.egress?.decision === 'denied');
      return lines.length >= 2 ? lines : undefined;
    });
    assert.deepEqual(refusals.map((l) => [l.responseFlags, l.egress?.serviceEntry]).sort(), [['NR', 'external/plain'], ['NR', 'external/secure']]);
    // Counted in weft's egress metric, denied, per entry.
    const metrics = await (await fetch(`http://${m.workload('sleep').podIP}:15020/stats/prometheus`)).text();
    for (const entry of ['external/plain', 'external/secure']) {
      assert.match(metrics, new RegExp(`weft_egress_total\\{[^}]*decision="denied"[^}]*service_entry="${entry}"[^}]*\\} [1-9]`), metrics.split('\n').filter((l) => l.startsWith('weft_egress')).join('\n'));
    }
  });
});

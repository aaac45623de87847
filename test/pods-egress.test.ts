/**
 * Egress from pods (`weft up --isolation=netns`): calls to an "outside" network beyond the mesh (plain HTTP, HTTPS,
 * TCP echo; test/support/outside-netns.ts) made by apps that know nothing of the mesh, captured by their sidecars.
 * REGISTRY_ONLY (the default) refuses them (HTTP 502; TLS and TCP closed); ALLOW_ANY passes them; a wildcard host
 * matches subdomains only. (ServiceEntries one by one and Sidecar scoping are in pods-egress-entries.test.ts, so
 * each file stays short.) Root, `ip netns`, iptables, curl, getent and openssl are required; without them the test
 * is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as egress from './support/egress-calls.js';

const w = await egress.egressFile('pods-egress');

test('egress from pods: REGISTRY_ONLY, ALLOW_ANY, wildcard hosts', { skip: w.skip, timeout: 170_000 }, async (t) => {
  await w.start('198.19.254');
  const out = w.outside();

  await t.test('the pods and the outside network do not share a subnet', () => {
    for (const c of egress.CLIENTS) {
      const pod = w.mesh().workload(c);
      assert.ok(pod.netns, `${c} runs in a network namespace`);
      assert.ok(!pod.podIP.startsWith(out.address.split('.').slice(0, 3).join('.') + '.'), `${c} at ${pod.podIP} collides with ${out.address}`);
    }
  });

  await t.test('REGISTRY_ONLY (the default): HTTP gets 502, TLS and TCP are closed', async () => {
    for (const c of egress.CLIENTS) {
      egress.assertHttpRefused(await egress.httpCall(w, c, egress.PLAIN), `${c} → http://${egress.PLAIN}`);
      egress.assertClosed(await egress.httpsCall(w, c, egress.SECURE), `${c} → https://${egress.SECURE}`);
      egress.assertClosed(await egress.tcpCall(w, c, out.address), `${c} → tcp ${out.address}:${out.ports.tcp}`);
    }
  });

  await t.test('ALLOW_ANY passes all three through, without any ServiceEntry', async () => {
    await egress.applyAndSync(w, 'apply', { file: 'examples/egress/config/allow-any.yaml' }, egress.CLIENTS);
    for (const c of egress.CLIENTS) {
      const http = await egress.httpCall(w, c, egress.PLAIN);
      assert.ok(http.reached && http.status === 200, `${c} → http://${egress.PLAIN}: ${http.detail}`);
      const https = await egress.httpsCall(w, c, egress.SECURE);
      assert.ok(https.reached, `${c} → https://${egress.SECURE}: ${https.detail}`);
      const tcp = await egress.tcpCall(w, c, out.address);
      assert.ok(tcp.reached, `${c} → tcp ${out.address}: ${tcp.detail}`);
    }
    await egress.applyAndSync(w, 'apply', { file: 'examples/egress/mesh-config.yaml' }, egress.CLIENTS);
    egress.assertHttpRefused(await egress.httpCall(w, 'curl', egress.PLAIN), `back under REGISTRY_ONLY, curl → http://${egress.PLAIN}`);
    egress.assertClosed(await egress.tcpCall(w, 'curl', out.address), `back under REGISTRY_ONLY, curl → tcp ${out.address}`);
  });

  await t.test('*.wild.example.test matches a.wild.example.test, never wild.example.test itself', async () => {
    egress.assertHttpRefused(await egress.httpCall(w, 'curl', 'a.wild.example.test'), 'before the wildcard entry, a.wild.example.test');
    await egress.applyAndSync(w, 'apply', { yaml: egress.WILDCARD_ENTRY }, egress.CLIENTS);
    const sub = await egress.httpCall(w, 'curl', 'a.wild.example.test');
    assert.ok(sub.reached && sub.status === 200, `curl → http://a.wild.example.test: ${sub.detail}`);
    egress.assertHttpRefused(await egress.httpCall(w, 'curl', 'wild.example.test'), 'curl → http://wild.example.test');
  });

  await t.test('a stop leaves nothing of the mesh, and closing the outside network removes it', () => w.stopAndAssertNothingLeft());
});

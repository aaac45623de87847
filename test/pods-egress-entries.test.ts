/**
 * Egress from pods through ServiceEntries (`weft up --isolation=netns`, outside network of test/support/
 * outside-netns.ts): each entry opens one destination (HTTP by Host, TLS by SNI, TCP by address) and nothing else at
 * the same address; a host with addresses resolves inside the pod; a Sidecar narrows one workload's view; the
 * example's DNS entry compiles and resolves. Root, `ip netns`, iptables, curl, getent and openssl are required;
 * without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyStatuses } from './support/config-sync.js';
import * as egress from './support/egress-calls.js';

const w = await egress.egressFile('pods-egress-entries');

test('egress from pods: ServiceEntry by Host, SNI and address, names in the pod, Sidecar scoping', { skip: w.skip, timeout: 170_000 }, async (t) => {
  await w.start('198.19.252');
  const out = w.outside();

  await t.test('ServiceEntries open one destination each: HTTP by Host, TLS by SNI, TCP by address', async () => {
    await egress.applyAndSync(w, 'apply', { yaml: egress.serviceEntries(out.address) }, egress.CLIENTS);
    for (const c of egress.CLIENTS) {
      const http = await egress.httpCall(w, c, egress.PLAIN);
      assert.ok(http.reached && http.status === 200, `${c} → http://${egress.PLAIN}: ${http.detail}`);
      const https = await egress.httpsCall(w, c, egress.SECURE);
      assert.ok(https.reached, `${c} → https://${egress.SECURE} (passed through, the outside's own certificate): ${https.detail}`);
      const tcp = await egress.tcpCall(w, c, out.address);
      assert.ok(tcp.reached, `${c} → tcp ${out.address}: ${tcp.detail}`);
    }
    // The same address under names no entry holds: the match is by Host and by SNI, not by where it goes.
    egress.assertHttpRefused(await egress.httpCall(w, 'curl', 'other.outside.test'), 'curl → http://other.outside.test at the same address');
    egress.assertClosed(await egress.httpsCall(w, 'curl', 'other.outside.test', true), 'curl → https://other.outside.test at the same address');
    // Passed through as the app sent it: a server that signs or routes by Host must see curl's own header.
    const http = await egress.httpCall(w, 'curl', egress.PLAIN);
    assert.equal(http.receivedHost, egress.PLAIN, `the Host header was rewritten on the way out: ${http.detail}`);
  });

  await t.test('a ServiceEntry host with addresses resolves inside the pod, and a TCP call by that name goes through', async () => {
    for (const c of egress.CLIENTS) {
      const r = await w.mesh().weft(['exec', c, '--', 'getent', 'hosts', egress.ECHO]);
      assert.equal(r.code, 0, `getent hosts ${egress.ECHO} in ${c}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.stdout.trim().split(/\s+/)[0], out.address, r.stdout);
    }
    const tcp = await egress.tcpCall(w, 'curl', egress.ECHO);
    assert.ok(tcp.reached, `curl → tcp ${egress.ECHO}: ${tcp.detail}`);
  });

  await t.test("a Sidecar with egress ./* hides the other namespace's ServiceEntries from curl only", async () => {
    await egress.applyAndSync(w, 'apply', { file: 'examples/egress/config/sidecar.yaml' }, ['curl']);
    egress.assertHttpRefused(await egress.httpCall(w, 'curl', egress.PLAIN), `curl under its Sidecar → http://${egress.PLAIN}`);
    egress.assertClosed(await egress.httpsCall(w, 'curl', egress.SECURE), `curl under its Sidecar → https://${egress.SECURE}`);
    const other = await egress.httpCall(w, 'sleep', egress.PLAIN);
    assert.ok(other.reached && other.status === 200, `sleep, not selected by the Sidecar → http://${egress.PLAIN}: ${other.detail}`);
    await egress.applyAndSync(w, 'delete', { file: 'examples/egress/config/sidecar.yaml' }, ['curl']);
    const again = await egress.httpCall(w, 'curl', egress.PLAIN);
    assert.ok(again.reached && again.status === 200, `curl once its Sidecar is deleted → http://${egress.PLAIN}: ${again.detail}`);
  });

  await t.test("the example's ServiceEntry (httpbin.org, DNS resolution) is accepted and its host resolves in the pod", async () => {
    await egress.applyAndSync(w, 'apply', { file: 'examples/egress/config/serviceentry.yaml' }, egress.CLIENTS);
    for (const p of await proxyStatuses(w.mesh())) {
      assert.equal(p.compileError, null, `${p.name}: ${p.compileError ?? ''}`);
      assert.equal(p.lastNack, null, `${p.name} NACKed: ${p.lastNack?.reason ?? ''}`);
    }
    // No network is needed: the pod's DNS proxy answers the entry's host with a virtual address.
    const r = await w.mesh().weft(['exec', 'curl', '--', 'getent', 'hosts', 'httpbin.org']);
    assert.equal(r.code, 0, `getent hosts httpbin.org: ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\.\d+\s+httpbin\.org/);
  });

  await t.test('a stop leaves nothing of the mesh, and closing the outside network removes it', () => w.stopAndAssertNothingLeft());
});

/** The control plane's istiod-named metrics from push events, CSRs and proxy status; time from a fake clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlaneMetrics } from './control-metrics.js';
import type { ProxyStatus } from './push-server.js';

function status(id: string, sent: string | null, acked: string | null, nack: string | null = null): ProxyStatus {
  return {
    id, role: 'sidecar', namespace: 'default', name: id, spiffeId: '', podIP: '', connected: true, connectedAt: '', sentVersion: sent, ackedVersion: acked,
    lastNack: nack === null ? null : { version: nack, reason: 'bad', at: '' }, certNotAfter: null, compileError: null, mtlsMode: null, sentAs: null, resyncs: 0,
  };
}

test('pushes, convergence time from sent to ACK, NACKs, CSRs, connected and stale proxies, store revision', async () => {
  let now = 1_000_000;
  let proxies: ProxyStatus[] = [];
  const m = new ControlPlaneMetrics({ clock: { now: () => now }, revision: () => 42, proxies: () => proxies });
  m.configEvent({ proxy: 'sidecar/default/a', outcome: 'sent', configVersion: 'v1', configSha256: null });
  now += 2_500;
  m.configEvent({ proxy: 'sidecar/default/a', outcome: 'ack', configVersion: 'v1', configSha256: null });
  m.configEvent({ proxy: 'sidecar/default/b', outcome: 'sent', configVersion: 'v9', configSha256: null });
  m.configEvent({ proxy: 'sidecar/default/b', outcome: 'nack', configVersion: 'v9', configSha256: null, reason: 'bad' });
  // An ACK of a version never sent on record observes nothing.
  m.configEvent({ proxy: 'sidecar/default/c', outcome: 'ack', configVersion: 'v0', configSha256: null });
  m.csr(true);
  m.csr(true);
  m.csr(false);
  proxies = [status('sidecar/default/a', 'v1', 'v1'), status('sidecar/default/b', 'v9', null, 'v9'), { ...status('sidecar/default/gone', 'v1', null), connected: false }];
  const text = await m.registry.metrics();
  const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(value('pilot_xds_pushes{type="proxyconfig"}'), 2);
  assert.equal(value('pilot_total_xds_rejects{type="proxyconfig"}'), 1);
  assert.equal(value('pilot_proxy_convergence_time_count'), 1);
  assert.equal(value('pilot_proxy_convergence_time_sum'), 2.5);
  assert.equal(value('pilot_proxy_convergence_time_bucket{le="1"}'), 0);
  assert.equal(value('pilot_proxy_convergence_time_bucket{le="3"}'), 1);
  assert.equal(value('citadel_server_csr_count'), 3);
  assert.equal(value('citadel_server_success_cert_issuance_count'), 2);
  assert.equal(value('citadel_server_csr_sign_err_count'), 1);
  assert.equal(value('pilot_xds'), 2);
  assert.equal(value('weft_store_revision'), 42);
  assert.equal(value('weft_proxy_config_stale{proxy="sidecar/default/a"}'), 0);
  assert.equal(value('weft_proxy_config_stale{proxy="sidecar/default/b"}'), 1);
  assert.equal(value('weft_proxy_nack{proxy="sidecar/default/b"}'), 1);
  assert.ok(!text.includes('sidecar/default/gone'), 'a disconnected proxy is not a series');
});

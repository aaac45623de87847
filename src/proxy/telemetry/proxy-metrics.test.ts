/**
 * Metric labels come from config, never from what a client wrote: 50 invented Hosts through the ingress gateway, a
 * sidecar's inbound listener and its outbound listener add no series beyond what config names, and
 * `destination_service` is the service's FQDN at both ends (or `unknown` where nothing in config matched).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTPBIN_FQDN, startHttpbinMesh } from '../httpbin-mesh.fixture.js';
import type { HttpbinMesh } from '../httpbin-mesh.fixture.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { rawHttp1, statusOf } from '../raw-request.fixture.js';

let mesh: HttpbinMesh;
before(async () => {
  mesh = await startHttpbinMesh();
});
after(async () => {
  await mesh.close();
});

const INVENTED = Array.from({ length: 50 }, (_, i) => `invented-${i}.example`);

function get(port: number, host: string): Promise<number> {
  return rawHttp1(port, `GET /get HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`).then(statusOf);
}

/** istio_requests_total as `reporter destination_service response_code` → count. */
async function requestSeries(metrics: ProxyMetrics): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric('istio_requests_total');
  assert.ok(metric);
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) out[`${v.labels.reporter} ${v.labels.destination_service} ${v.labels.response_code}`] = v.value;
  return out;
}

describe('istio_requests_total labels', () => {
  test('invented Hosts at the gateway and the inbound listener are all counted under the service FQDN', async () => {
    for (const host of INVENTED) assert.equal(await get(mesh.gatewayPort, host), 200, host);
    for (const host of INVENTED) assert.equal(await get(mesh.inboundPort, host), 200, host);
    for (const host of INVENTED) assert.equal(await get(mesh.inboundPort, `${host}:8000`), 200, host);
    // A gateway reports as the source of what it forwards, as Istio's gateways do.
    assert.deepEqual(await requestSeries(mesh.gateway.metrics), { [`source ${HTTPBIN_FQDN} 200`]: 50 });
    // The gateway's 50 arrive at the sidecar too.
    assert.deepEqual(await requestSeries(mesh.sidecar.metrics), { [`destination ${HTTPBIN_FQDN} 200`]: 150 });
  });

  test('invented Hosts at the outbound listener are one BlackHoleCluster series; a service name is its FQDN at both ends', async () => {
    for (const host of INVENTED) assert.equal(await get(mesh.outboundPort, host), 502, host);
    for (const host of ['httpbin:8000', 'httpbin.default:8000', `${HTTPBIN_FQDN}:8000`, 'HTTPBIN:8000']) assert.equal(await get(mesh.outboundPort, host), 200, host);
    assert.deepEqual(await requestSeries(mesh.sidecar.metrics), {
      [`destination ${HTTPBIN_FQDN} 200`]: 154,
      [`source ${HTTPBIN_FQDN} 200`]: 4,
      'source BlackHoleCluster 502': 50,
    });
  });

  test('a request no route or port takes is `unknown`, however it names itself', async () => {
    const gw = mesh.gateway;
    const before = await requestSeries(gw.metrics);
    assert.equal(statusOf(await rawHttp1(mesh.gatewayPort, 'GET /get HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n')), 400);
    assert.equal(await get(mesh.inboundPort, 'invented.example:9999'), 404);
    assert.deepEqual(await requestSeries(gw.metrics), { ...before, 'source unknown 400': 1 });
    assert.equal((await requestSeries(mesh.sidecar.metrics))['destination unknown 404'], 1);
  });
});

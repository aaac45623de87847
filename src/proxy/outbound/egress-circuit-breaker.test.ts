/**
 * The circuit breaker of a ServiceEntry host without a VirtualService (the sidecar's default egress path, http_proxy
 * mode): with maxConnections 1 and one pending request, of three requests at once one is answered, one waits for its
 * connection and the third is refused 503 `UO` with x-envoy-overloaded, as at a mesh cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { compileTrafficPolicy } from '../../control/compile/cluster-policy.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { createOutboundServer } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { externalService, sidecarConfig } from '../sidecar-config.fixture.js';

const HOST = 'api.example.test';

function config(port: number): ProxyConfig {
  const connectionPool = compileTrafficPolicy({ connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } } } as never).connectionPool;
  return sidecarConfig({
    version: 'egress-breaker',
    externals: [
      externalService('default/api', [HOST], [{ port: 80, name: 'http', protocol: 'http', targetPort: port }], {
        resolution: 'STATIC',
        endpoints: [{ address: '127.0.0.1', ports: {} }],
        connectionPools: [{ host: HOST, port: 80, connectionPool }],
      }),
    ],
  });
}

function get(proxyPort: number): Promise<{ status: number; overloaded: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, path: `http://${HOST}/`, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, overloaded: res.headers['x-envoy-overloaded'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the default egress path: maxConnections 1, one request waits, the third is refused 503 UO', { timeout: 30_000 }, async () => {
  const held: http.ServerResponse[] = [];
  let onRequest: () => void = () => undefined;
  const server = http.createServer((_req, res) => {
    held.push(res);
    onRequest();
  });
  const port = await listenOnLoopback(server);
  const entries: AccessLogEntry[] = [];
  const rt = testRuntime({
    config: acceptProxyConfig(config(port)),
    cert: undefined as unknown as WorkloadCertificate,
    telemetry: { record: (e) => void entries.push(e) },
    resolver: { resolve: (host) => (net.isIP(host) ? Promise.resolve(host) : Promise.reject(new Error(`NXDOMAIN ${host}`))) },
  });
  const proxy = createOutboundServer(rt);
  const proxyPort = await listenOnLoopback(proxy);
  try {
    const first = get(proxyPort);
    await new Promise<void>((r) => (held.length > 0 ? r() : (onRequest = r)));
    const second = get(proxyPort);
    const third = get(proxyPort);
    // One of the two is refused at once while the first holds the only connection and the other waits for it.
    const refused = await Promise.race([second, third]);
    assert.deepEqual(refused, { status: 503, overloaded: 'true' });
    assert.equal(entries.find((e) => e.status === 503)?.responseFlags, 'UO');
    assert.equal(held.length, 1);
    // The first answer releases the connection to the waiting request.
    onRequest = () => held.shift()?.end('ok');
    held.shift()!.end('ok');
    assert.deepEqual(await first, { status: 200, overloaded: undefined });
    assert.deepEqual((await Promise.all([second, third])).map((r) => r.status).sort(), [200, 503]);
    await rt.pools.close();
  } finally {
    proxy.close();
    server.closeAllConnections();
    server.close();
  }
});

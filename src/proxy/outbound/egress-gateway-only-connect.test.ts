/**
 * CONNECT in http_proxy mode to a gateway-only host: refused by its name and by an address of it (the entry's
 * endpoint), 502 with the reason, `NR` and egress decision `denied`; CONNECT elsewhere still tunnels (ALLOW_ANY).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { createOutboundServer } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { externalService, sidecarConfig } from '../sidecar-config.fixture.js';
import { connectThrough } from './connect-through.fixture.js';

const HOST = 'secure.example.test';
const ENDPOINT = '127.0.6.6';
const echo = net.createServer((s) => {
  s.on('error', () => undefined);
  s.pipe(s);
});
let echoPort = 0;
let proxyPort = 0;
let proxy: http.Server;
const entries: AccessLogEntry[] = [];

function config(): ProxyConfig {
  return sidecarConfig({
    version: 'connect-gateway-only',
    trafficPolicy: 'ALLOW_ANY',
    externals: [
      externalService('external/secure', [HOST], [{ port: echoPort, name: 'tls', protocol: 'tls', targetPort: echoPort }], {
        resolution: 'STATIC',
        endpoints: [{ address: ENDPOINT, ports: {} }],
      }),
    ],
    egressGatewayHosts: [HOST],
  });
}

before(async () => {
  echoPort = await listenOnLoopback(echo);
  const rt = testRuntime({
    config: acceptProxyConfig(config()),
    cert: undefined as unknown as WorkloadCertificate,
    telemetry: { record: (e) => void entries.push(e) },
    resolver: { resolve: (host) => (net.isIP(host) ? Promise.resolve(host) : Promise.resolve('127.0.0.1')) },
  });
  proxy = createOutboundServer(rt);
  proxyPort = await listenOnLoopback(proxy);
});
after(() => {
  proxy.close();
  echo.close();
});

const refused: Array<[string, () => string]> = [
  ['by its name', () => `${HOST}:${echoPort}`],
  ['by its name in another case', () => `SECURE.example.test:${echoPort}`],
  ["by its endpoint's address", () => `${ENDPOINT}:${echoPort}`],
];
for (const [name, authority] of refused) {
  test(`CONNECT to a gateway-only host ${name} is refused`, async () => {
    const r = await connectThrough(proxyPort, authority(), 'ping');
    assert.equal(r.status, 502);
    const e = entries.at(-1);
    assert.deepEqual([e?.egress?.decision, e?.responseFlags, e?.reason], ['denied', 'NR', `egress denied: ${HOST} leaves the mesh only through the egress gateway`]);
  });
}

test('CONNECT to another address tunnels (ALLOW_ANY)', async () => {
  assert.deepEqual(await connectThrough(proxyPort, `127.0.0.1:${echoPort}`, 'ping'), { status: 200, echoed: 'ping' });
});

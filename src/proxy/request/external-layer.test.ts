/**
 * A route destination that is a ServiceEntry host leaves by the entry's rules (a real HTTP server on loopback stands
 * in for the external host); a mesh service's destination goes on to endpoint choice; an entry with nothing to send
 * to answers 503 without dialling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExternalService, HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { EndpointPools } from '../upstream/endpoint-pools.js';
import { stack } from './exchange.js';
import type { Dispatch } from './exchange.js';
import { matchRoute } from './route-layer.js';
import { RecordedExchange } from './recorded-exchange.fixture.js';
import { externalDestinations } from './external-layer.js';
import { compileRoutes } from '../../route/http-route-match.js';

const EXTERNAL = 'plain.example.test';
const MESH = 'reviews.default.svc.cluster.local';

function external(endpoints: ExternalService['endpoints']): ExternalService {
  return {
    source: 'default/plain',
    namespace: 'default',
    hosts: [EXTERNAL],
    addresses: [],
    dns: [],
    ports: [{ port: 80, name: 'http', protocol: 'http', targetPort: 80 }],
    location: 'MESH_EXTERNAL',
    resolution: 'STATIC',
    endpoints,
  };
}

function config(externals: ExternalService[]): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v',
    proxy: { role: 'gateway', namespace: 'weft-system', name: 'istio-egressgateway', spiffeId: 'spiffe://cluster.local/ns/weft-system/sa/istio-egressgateway-service-account', labels: { istio: 'egressgateway' } },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: { services: [], externals, trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

const routeTo = (host: string): HttpRoute => ({ source: 'default/out#0', name: '', match: [], destinations: [{ host, port: 80, weight: 100 }], timeoutMs: 0 });

async function send(externals: ExternalService[], destination: string): Promise<{ ex: RecordedExchange; meshCalls: number }> {
  const pools = new EndpointPools(undefined);
  let meshCalls = 0;
  const mesh: Dispatch = (ex, handler) => {
    meshCalls++;
    handler.onHeaders(ex, 299, {}, { pause() {}, resume() {}, abort() {} });
    handler.onEnd(ex);
  };
  const resolver = { resolve: (h: string) => (h === '127.0.0.1' ? Promise.resolve(h) : Promise.reject(new Error(`no name ${h}`))) };
  const dispatch = stack([matchRoute(() => 0), externalDestinations(pools, resolver)], mesh);
  const ex = new RecordedExchange(EXTERNAL, '/egress');
  const cfg = acceptProxyConfig(config(externals));
  ex.cfg = cfg;
  // What a gateway's virtual host holds: the route compiled by the proxy's own route compiler.
  ex.routes = compileRoutes([routeTo(destination)]);
  dispatch(ex, ex);
  await ex.done;
  await pools.close();
  return { ex, meshCalls };
}

test('a ServiceEntry host as the destination: sent to the entry\'s endpoint, not to endpoint choice', async () => {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.headers.host} ${req.url}`);
    res.end('outside');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const { ex, meshCalls } = await send([external([{ address: '127.0.0.1', ports: { http: port } }])], EXTERNAL);
    assert.equal(ex.status, 200);
    assert.equal(ex.text, 'outside');
    assert.equal(meshCalls, 0);
    assert.deepEqual(seen, [`${EXTERNAL} /egress`]);
  } finally {
    server.close();
  }
});

test('a STATIC entry without endpoints answers 503 and dials nothing', async () => {
  const { ex, meshCalls } = await send([external([])], EXTERNAL);
  assert.equal(ex.status, 503);
  assert.equal(meshCalls, 0);
});

test('a mesh service as the destination goes on to endpoint choice unchanged', async () => {
  const { ex, meshCalls } = await send([external([])], MESH);
  assert.equal(meshCalls, 1);
  assert.equal(ex.status, 299);
});

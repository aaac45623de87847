/** The proxy-config routes: readers of ProxyStatus see the ACKed config, a refused newer one named; the runtime report is the proxy's. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import type { ProxyStatus } from '../push-server.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { WeftError } from '../../errors.js';
import type { ApiFixture } from './api-server.fixture.js';
import { startApiFixture } from './api-server.fixture.js';

const status = (over: Partial<ProxyStatus>): ProxyStatus => ({
  id: 'sidecar/default/client', role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client',
  podIP: '127.0.0.5', connected: true, connectedAt: '2026-01-01T00:00:00.000Z', sentVersion: 'b', ackedVersion: 'a', lastNack: null,
  certNotAfter: null, compileError: null, mtlsMode: 'STRICT', sentAs: 'config', resyncs: 0, ...over,
});

let api: ApiFixture;
let agent: Agent;
const seen = new Map<string, { status: ProxyStatus; running: { config: ProxyConfig; ackedAt: string } | undefined }>();

before(async () => {
  api = await startApiFixture({
    proxies: {
      runningConfig: (id) => seen.get(id),
      requestRuntime: (id) =>
        id === 'sidecar/default/client'
          ? Promise.resolve({ configVersion: 'a', time: '2026-01-01T00:00:01.000Z', certificates: [], clusters: [], truncated: false })
          : Promise.reject(new WeftError('UPSTREAM_UNREACHABLE', `proxy ${id} is not connected to the control plane`, { status: 503 })),
    },
  });
  agent = new Agent({ connect: { ca: api.caPem } });
  seen.set('sidecar/default/client', {
    status: status({ lastNack: { version: 'b', reason: 'invalid config at outbound', at: '2026-01-01T00:00:02.000Z' } }),
    running: { config: { version: 'a' } as ProxyConfig, ackedAt: '2026-01-01T00:00:01.000Z' },
  });
  // A gateway originating with a DestinationRule credentialName: its config holds the Secret's key.
  const tls = { mode: 'MUTUAL', credential: { secret: 'weft-system/c', certificate: { secret: 'weft-system/c', pem: 'CERT' }, privateKey: { secret: 'weft-system/c', pem: 'CLIENT-KEY' } } };
  seen.set('gateway/weft-system/egress', {
    status: status({ id: 'gateway/weft-system/egress', role: 'gateway', namespace: 'weft-system', name: 'egress' }),
    running: { config: { version: 'g', outbound: { externals: [{ origination: [{ host: 'a', port: 443, tls }] }] } } as unknown as ProxyConfig, ackedAt: '2026-01-01T00:00:01.000Z' },
  });
  seen.set('sidecar/default/fresh', { status: status({ id: 'sidecar/default/fresh', ackedVersion: null }), running: undefined });
});
after(async () => {
  await agent.close();
  await api.close();
});

async function get(path: string, secret: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await request(`${api.origin}${path}`, { headers: { authorization: `Bearer ${secret}` }, dispatcher: agent });
  return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
}

test('the ACKed config, with the refused newer version named; a viewer may read it', async () => {
  const r = await get('/api/v1/proxies/sidecar/default/client/config', api.viewerSecret);
  assert.equal(r.status, 200);
  assert.equal(r.body.config.version, 'a');
  assert.deepEqual(r.body.nacked, { version: 'b', reason: 'invalid config at outbound', at: '2026-01-01T00:00:02.000Z' });
  assert.equal(r.body.proxy.id, 'sidecar/default/client');
});

test('a proxy never seen, one with nothing ACKed, a bad role, a runtime report and a disconnected proxy', async () => {
  const cases: Array<[string, number, RegExp]> = [
    ['/api/v1/proxies/sidecar/default/ghost/config', 404, /has not connected/],
    ['/api/v1/proxies/sidecar/default/fresh/config', 404, /has not ACKed a config/],
    ['/api/v1/proxies/pod/default/client/config', 400, /sidecar or gateway/],
    ['/api/v1/proxies/sidecar/default/client/runtime', 200, /"configVersion":"a"/],
    ['/api/v1/proxies/sidecar/default/gone/runtime', 503, /not connected/],
  ];
  for (const [path, code, body] of cases) {
    const r = await get(path, api.adminSecret);
    assert.equal(r.status, code, path);
    assert.match(JSON.stringify(r.body), body, path);
  }
});

test("a private key in the ACKed config is never shown, the certificate and the Secret's name are", async () => {
  const r = await get('/api/v1/proxies/gateway/weft-system/egress/config', api.viewerSecret);
  assert.equal(r.status, 200);
  const shown = JSON.stringify(r.body.config);
  assert.doesNotMatch(shown, /CLIENT-KEY/);
  assert.deepEqual(r.body.config.outbound.externals[0].origination[0].tls.credential.privateKey, { secret: 'weft-system/c', pem: '<redacted>' });
  assert.match(shown, /CERT/);
});

/**
 * The HTTP ext-authz client against real authorizers on loopback: one that accepts connections and never answers
 * (the provider's `timeout` must bound the check, then `failOpen` / `statusOnError` decide), one that answers 5xx
 * (a failure too, in Envoy's HTTP ext_authz client), and one that answers at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ExtAuthzProvider, ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import { EndpointPools } from '../upstream/endpoint-pools.js';
import { checkExtAuthz } from './ext-authz-client.js';
import type { AdmissionRequest } from './admit-request.js';

const HOST = 'authz.default.svc.cluster.local';

function configWith(ports: Record<number, number>): CompiledProxyConfig {
  const config: Omit<ProxyConfig, 'security'> & { security: Record<string, unknown> } = {
    schema: 3,
    version: 'v1',
    proxy: { role: 'sidecar', namespace: 'default', name: 'web', spiffeId: 'spiffe://cluster.local/ns/default/sa/web', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [
        {
          host: HOST,
          namespace: 'default',
          aliases: [],
          addresses: [],
          ports: Object.entries(ports).map(([port, at]) => ({
            port: Number(port),
            name: `http-${port}`,
            protocol: 'http' as const,
            endpoints: [{ address: '127.0.0.1', inboundPort: at, targetPort: at, spiffeId: 'spiffe://cluster.local/ns/default/sa/authz', mtls: false, workload: 'default/authz' }],
          })),
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
  return acceptProxyConfig(config);
}

function provider(port: number, over: Partial<ExtAuthzProvider> = {}): ExtAuthzProvider {
  return {
    name: 'authz',
    service: HOST,
    port,
    pathPrefix: '',
    timeoutMs: 200,
    failOpen: false,
    statusOnError: 403,
    includeRequestHeadersInCheck: [],
    includeAdditionalHeadersInCheck: {},
    headersToUpstreamOnAllow: [],
    headersToDownstreamOnDeny: [],
    headersToDownstreamOnAllow: [],
    ...over,
  };
}

const REQUEST: AdmissionRequest = { method: 'GET', headers: { host: 'web' }, socket: { remoteAddress: '127.0.0.1' } };

describe('ext-authz client: timeout and failure semantics', () => {
  let frozen: net.Server;
  const frozenSockets = new Set<net.Socket>();
  let failing: http.Server;
  let allowing: http.Server;
  let cfg: CompiledProxyConfig;
  const pools = new EndpointPools(undefined);
  const FROZEN = 9001;
  const FAILING = 9002;
  const ALLOWING = 9003;

  before(async () => {
    // Accepts, reads, never answers: a hung authorizer.
    frozen = net.createServer((s) => {
      frozenSockets.add(s);
      s.on('close', () => frozenSockets.delete(s));
      s.resume();
    });
    failing = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('authorizer overloaded');
    });
    allowing = http.createServer((_req, res) => {
      res.writeHead(200);
      res.end();
    });
    const listen = (s: net.Server): Promise<number> =>
      new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
    cfg = configWith({ [FROZEN]: await listen(frozen), [FAILING]: await listen(failing), [ALLOWING]: await listen(allowing) });
  });

  after(async () => {
    await pools.close();
    for (const s of frozenSockets) s.destroy();
    await Promise.all([frozen, failing, allowing].map((s) => new Promise((r) => s.close(r))));
  });

  const timed = async (p: ExtAuthzProvider): Promise<{ result: Awaited<ReturnType<typeof checkExtAuthz>>; ms: number }> => {
    const started = performance.now();
    const result = await checkExtAuthz(pools, cfg, p, REQUEST, '/x');
    return { result, ms: performance.now() - started };
  };

  test('a frozen authorizer: the check ends at the provider timeout with 403 (statusOnError default)', async () => {
    const { result, ms } = await timed(provider(FROZEN));
    assert.equal(result.allow, false);
    assert.deepEqual(result.allow ? null : [result.status, result.body, result.downstreamHeaders], [403, '', []]);
    assert.ok(ms >= 190 && ms < 1000, `ended after ${ms.toFixed(0)} ms, want the 200 ms timeout`);
  });

  test('a frozen authorizer with statusOnError "503": 503 at the timeout', async () => {
    const { result, ms } = await timed(provider(FROZEN, { statusOnError: 503, timeoutMs: 150 }));
    assert.deepEqual(result.allow ? null : result.status, 503);
    assert.ok(ms >= 140 && ms < 1000, `ended after ${ms.toFixed(0)} ms, want the 150 ms timeout`);
  });

  test('a frozen authorizer with failOpen: allowed at the timeout, nothing copied', async () => {
    const { result, ms } = await timed(provider(FROZEN, { failOpen: true }));
    assert.deepEqual(result, { allow: true, upstreamHeaders: [], downstreamHeaders: [] });
    assert.ok(ms >= 190 && ms < 1000, `ended after ${ms.toFixed(0)} ms, want the 200 ms timeout`);
  });

  test('a 5xx from the authorizer is a failure: statusOnError without failOpen, allowed with it', async () => {
    const closed = await timed(provider(FAILING, { statusOnError: 401 }));
    assert.deepEqual(closed.result.allow ? null : [closed.result.status, closed.result.body], [401, '']);
    const open = await timed(provider(FAILING, { failOpen: true }));
    assert.deepEqual(open.result, { allow: true, upstreamHeaders: [], downstreamHeaders: [] });
  });

  test('an authorizer that answers at once is not held to the timeout', async () => {
    const { result, ms } = await timed(provider(ALLOWING, { timeoutMs: 5000 }));
    assert.deepEqual(result, { allow: true, upstreamHeaders: [], downstreamHeaders: [] });
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
});

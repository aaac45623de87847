/**
 * The layers of the request path without sockets: a recorded Exchange, layers stacked as the proxy stacks them, and
 * a fake upstream that answers from a script. Istio's defaults and Envoy's semantics as tables.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { EndpointRegistry } from '../balance/endpoint-registry.js';
import { installConfig } from '../proxy-runtime.js';
import { systemClock } from '../../clock.js';
import { compileRoutes } from '../../route/http-route-match.js';
import { Exchange, stack } from './exchange.js';
import type { Dispatch, ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from './exchange.js';
import { matchRoute } from './route-layer.js';
import { injectFault } from './fault-layer.js';
import { retryRequest } from './retry-layer.js';
import { chooseEndpoint } from './endpoint-layer.js';
import { shadowAuthority } from './mirror-layer.js';
import { enforceTimeout } from './timeout-layer.js';
import { RequestTimers } from './request-timers.js';
import { ManualClock } from './manual-clock.fixture.js';

const HOST = 'reviews.default.svc.cluster.local';

class RecordedExchange extends Exchange {
  readonly method = 'GET';
  readonly authority = 'reviews:9080';
  readonly path: string;
  readonly query = '';
  readonly scheme = 'http';
  readonly port = 9080;
  readonly headers: Record<string, string>;
  readonly body = null;
  readonly rawHeaders: string[] = [];
  readonly headersSent = false;
  readonly sourceAddress = '198.18.0.9';
  readonly localAddress = '198.18.0.9';
  status = 0;
  responseHeaders: ResponseHeaders = {};
  chunks: string[] = [];
  ended = false;
  failure: UpstreamFailureEvent | undefined;

  constructor(path: string, headers: Record<string, string> = {}) {
    super();
    this.path = path;
    this.headers = headers;
  }
  onHeaders(_ex: Exchange, status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.responseHeaders = headers;
  }
  onData(_ex: Exchange, chunk: Buffer): void {
    this.chunks.push(chunk.toString());
  }
  onEnd(): void {
    this.ended = true;
  }
  onError(_ex: Exchange, failure: UpstreamFailureEvent): void {
    this.failure = failure;
    this.status = failure.status;
    this.ended = true;
  }
}

const NO_CONTROL: UpstreamControl = { pause() {}, resume() {}, abort() {} };

/** An upstream that answers each attempt with the next scripted status (or failure), synchronously. */
function scriptedUpstream(script: Array<number | UpstreamFailureEvent>, seen: string[]): Dispatch {
  let i = 0;
  return (ex, handler) => {
    seen.push(ex.endpoint!.address);
    const next = script[Math.min(i++, script.length - 1)]!;
    if (typeof next === 'number') {
      handler.onHeaders(ex, next, {}, NO_CONTROL);
      handler.onEnd(ex);
    } else handler.onError(ex, next);
  };
}

function config(routes: HttpRoute[] | undefined, clusterPolicy?: Record<string, unknown>): ProxyConfig {
  const endpoint = (n: number) => ({ address: `198.18.0.${n}`, inboundPort: 15006, targetPort: 9080, spiffeId: 'spiffe://cluster.local/ns/default/sa/reviews', mtls: true, workload: `default/reviews-${n}` });
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v',
    proxy: { role: 'sidecar', namespace: 'default', name: 'productpage', spiffeId: 'spiffe://cluster.local/ns/default/sa/productpage', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [
        {
          host: HOST,
          namespace: 'default',
          aliases: ['reviews'],
          addresses: [],
          ports: [
            {
              port: 9080,
              name: 'http',
              protocol: 'http',
              endpoints: [endpoint(1), endpoint(2)],
              ...(routes && { http: routes }),
              ...(clusterPolicy && {
                clusters: [
                  {
                    name: `outbound|9080||${HOST}`,
                    host: HOST,
                    port: 9080,
                    subset: null,
                    labels: {},
                    destinationRules: ['default/reviews'],
                    policy: clusterPolicy as never,
                    endpoints: ['198.18.0.1', '198.18.0.2'],
                  },
                ],
              }),
            },
          ],
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

const route = (over: Partial<HttpRoute>): HttpRoute => ({ source: 'default/reviews#0', name: '', match: [], destinations: [{ host: HOST, port: 9080, weight: 100 }], timeoutMs: 0, ...over });

/**
 * Runs one request through route → fault → timeout → retry → endpoint → the upstream (scripted unless given), on a
 * manual clock (no outlier detection, so the registry holds no timer).
 */
function run(
  routes: HttpRoute[] | undefined,
  script: Array<number | UpstreamFailureEvent>,
  path = '/reviews/1',
  clusterPolicy?: Record<string, unknown>,
  draws: readonly number[] = [0],
  upstream?: Dispatch,
): { ex: RecordedExchange; seen: string[]; clock: ManualClock } {
  const cfg = acceptProxyConfig(config(routes, clusterPolicy));
  const registry = new EndpointRegistry(systemClock);
  installConfig({ config: undefined, endpoints: registry }, cfg);
  const seen: string[] = [];
  let draw = 0;
  const balancing = (): number => draws[draw++ % draws.length]!;
  const clock = new ManualClock();
  const timers = new RequestTimers(clock);
  const dispatch = stack(
    [matchRoute(() => 0), injectFault(() => 0, timers), enforceTimeout(timers), retryRequest(() => 0, timers)],
    chooseEndpoint(registry, balancing)(upstream ?? scriptedUpstream(script, seen)),
  );
  const ex = new RecordedExchange(path);
  ex.cfg = cfg;
  const port = cfg.byHost.get(HOST)!.ports.get(9080)!;
  ex.routes = routes === undefined ? undefined : compileRoutes(routes);
  ex.defaultDestination = port;
  dispatch(ex, ex);
  return { ex, seen, clock };
}

const CONNECT_FAILURE: UpstreamFailureEvent = { kind: 'connect', status: 503, reason: 'upstream connect error', flag: 'UF' };

describe('route layer', () => {
  test('no routes: the default route to the service port', () => {
    const { ex } = run(undefined, [200]);
    assert.equal(ex.status, 200);
    assert.equal(ex.upstreamPath, '/reviews/1');
  });
  test('routes but none matches: 404 NR from the proxy', () => {
    const { ex, seen } = run([route({ match: [{ uri: { prefix: '/other' } }] })], [200]);
    assert.deepEqual([ex.status, ex.responseFlags, seen.length], [404, 'NR', 0]);
  });
  test('a destination subset no cluster has: 503 NR no healthy upstream', () => {
    const { ex } = run([route({ destinations: [{ host: HOST, port: 9080, weight: 100, subset: 'v9' }] })], [200]);
    assert.deepEqual([ex.status, ex.responseFlags, ex.chunks.join('')], [503, 'NR', 'no healthy upstream']);
  });
  test('directResponse and redirect are answered locally', () => {
    const direct = run([route({ destinations: [], directResponse: { status: 418, body: { string: 'teapot' } } })], [200]).ex;
    assert.deepEqual([direct.status, direct.chunks.join('')], [418, 'teapot']);
    const moved = run([route({ destinations: [], redirect: { uri: '/v2', code: 301 } })], [200]).ex;
    assert.deepEqual([moved.status, moved.responseHeaders.location], [301, 'http://reviews:9080/v2']);
  });
  test('fault abort: FI with Envoy\'s body, nothing upstream', () => {
    const { ex, seen } = run([route({ fault: { abort: { httpStatus: 500, percent: 100 } } })], [200]);
    assert.deepEqual([ex.status, ex.responseFlags, ex.chunks.join(''), seen.length], [500, 'FI', 'fault filter abort', 0]);
  });
});

describe("retries (Istio's default policy unless the route says otherwise)", () => {
  const rows: Array<{ name: string; routes: HttpRoute[] | undefined; script: Array<number | UpstreamFailureEvent>; status: number; attempts: number; flags: string }> = [
    { name: 'default route, 503 then 200: retried', routes: undefined, script: [503, 200], status: 200, attempts: 2, flags: '' },
    { name: 'default route, 500: not retriable', routes: undefined, script: [500], status: 500, attempts: 1, flags: '' },
    { name: 'default route, connect failure then 200', routes: undefined, script: [CONNECT_FAILURE, 200], status: 200, attempts: 2, flags: '' },
    { name: 'default route, 503 three times: URX', routes: undefined, script: [503], status: 503, attempts: 3, flags: 'URX' },
    { name: 'attempts 0: one try', routes: [route({ retries: { attempts: 0, perTryTimeoutMs: 0, retryOn: [], retriableStatusCodes: [], retryRemoteLocalities: false, retryIgnorePreviousHosts: false, backoffMs: 0 } })], script: [503, 200], status: 503, attempts: 1, flags: '' },
    { name: '5xx: a 500 is retried', routes: [route({ retries: { attempts: 1, perTryTimeoutMs: 0, retryOn: ['5xx'], retriableStatusCodes: [], retryRemoteLocalities: false, retryIgnorePreviousHosts: true, backoffMs: 0 } })], script: [500, 200], status: 200, attempts: 2, flags: '' },
    { name: 'gateway-error: a 500 is not', routes: [route({ retries: { attempts: 1, perTryTimeoutMs: 0, retryOn: ['gateway-error'], retriableStatusCodes: [], retryRemoteLocalities: false, retryIgnorePreviousHosts: true, backoffMs: 0 } })], script: [500, 200], status: 500, attempts: 1, flags: '' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const { ex, seen, clock } = run(row.routes, row.script);
      // With a random of 0 every backoff is 0ms: one turn of the clock runs each retry.
      clock.advance(0);
      assert.deepEqual([ex.status, ex.attempts, seen.length, ex.responseFlags], [row.status, row.attempts, row.attempts, row.flags]);
    });
  }
  test('a retry goes to another host than the previous one', () => {
    // RANDOM over two hosts: each retry first draws the host it just tried, then draws again.
    const policy = acceptProxyConfig(config(undefined)).byHost.get(HOST)!.ports.get(9080)!.clusters.get('')!.config.policy;
    const { seen, clock } = run(undefined, [503, 503, 200], '/reviews/1', { ...policy, loadBalancer: { policy: 'RANDOM' } }, [0, 0, 0.6, 0.6, 0]);
    clock.advance(0);
    assert.equal(seen.length, 3);
    assert.notEqual(seen[0], seen[1]);
    assert.notEqual(seen[1], seen[2]);
  });
});

describe('circuit breaking at the endpoint', () => {
  test('a local overflow answer is 503 UO with x-envoy-overloaded and is never retried', () => {
    const policy = {
      ...acceptProxyConfig(config(undefined)).byHost.get(HOST)!.ports.get(9080)!.clusters.get('')!.config.policy,
    };
    const limited = { ...policy, connectionPool: { ...policy.connectionPool, maxRequests: 0 } };
    const { ex, seen } = run(undefined, [200], '/reviews/1', limited);
    assert.deepEqual([ex.status, ex.responseFlags, ex.responseHeaders['x-envoy-overloaded'], seen.length, ex.attempts], [503, 'UO', 'true', 0, 1]);
  });
});

test('the mirror copy names the shadow host before any port, as Envoy', () => {
  assert.equal(shadowAuthority('httpbin:8000'), 'httpbin-shadow:8000');
  assert.equal(shadowAuthority('httpbin'), 'httpbin-shadow');
  assert.equal(shadowAuthority('[::1]:80'), '[::1]-shadow:80');
});


/** An upstream that never answers: only timers end its requests. */
const SILENT: Dispatch = (ex) => {
  ex.control = NO_CONTROL;
};

const RETRY = { attempts: 2, perTryTimeoutMs: 0, retryOn: ['5xx'], retriableStatusCodes: [], retryRemoteLocalities: false, retryIgnorePreviousHosts: false, backoffMs: 0 };

describe('timers on the injected clock', () => {
  test('route timeout: 504 UT exactly when the clock reaches it', () => {
    const { ex, clock } = run([route({ timeoutMs: 500 })], [], '/reviews/1', undefined, [0], SILENT);
    clock.advance(499);
    assert.equal(ex.status, 0);
    clock.advance(1);
    assert.deepEqual([ex.status, ex.responseFlags], [504, 'UT']);
  });
  test('per-try timeout: each attempt gets its own, then the last answer stands with URX', () => {
    const { ex, clock } = run([route({ retries: { ...RETRY, perTryTimeoutMs: 100, retryOn: ['reset'] } })], [], '/reviews/1', undefined, [0], SILENT);
    clock.advance(100);
    assert.equal(ex.attempts, 2);
    clock.advance(100);
    assert.equal(ex.attempts, 3);
    clock.advance(100);
    assert.deepEqual([ex.status, ex.failure?.flag, ex.responseFlags], [504, 'UT', 'URX']);
  });
  test('fault delay: the request goes upstream after the delay, not before', () => {
    const { ex, seen, clock } = run([route({ fault: { delay: { fixedDelayMs: 2000, percent: 100 } } })], [200]);
    clock.advance(1999);
    assert.equal(seen.length, 0);
    clock.advance(1);
    assert.deepEqual([seen.length, ex.status, ex.responseFlags], [1, 200, 'DI']);
  });
  test("retry backoff: Envoy's jittered exponential wait, 25ms base", () => {
    // random 0.99 draws nearly the whole window: 25ms for the first retry, 75ms for the second.
    const cfg = acceptProxyConfig(config([route({ retries: RETRY })]));
    const registry = new EndpointRegistry(systemClock);
    installConfig({ config: undefined, endpoints: registry }, cfg);
    const clock = new ManualClock();
    const timers = new RequestTimers(clock);
    const seen: string[] = [];
    const dispatch = stack([matchRoute(() => 0), retryRequest(() => 0.99, timers)], chooseEndpoint(registry, () => 0)(scriptedUpstream([503, 503, 200], seen)));
    const ex = new RecordedExchange('/reviews/1');
    ex.cfg = cfg;
    ex.routes = compileRoutes([route({ retries: RETRY })]);
    ex.defaultDestination = cfg.byHost.get(HOST)!.ports.get(9080)!;
    dispatch(ex, ex);
    clock.advance(23);
    assert.equal(seen.length, 1);
    clock.advance(1);
    assert.equal(seen.length, 2);
    clock.advance(73);
    assert.equal(seen.length, 2);
    clock.advance(1);
    assert.deepEqual([seen.length, ex.status], [3, 200]);
  });
});

describe('the timer queue', () => {
  test('fires in deadline order, skips cancelled timers, and leaves nothing queued', () => {
    const clock = new ManualClock();
    const timers = new RequestTimers(clock);
    const fired: number[] = [];
    const at = (n: number) => ({ expire: () => fired.push(n) });
    timers.after(30, at(30));
    const cancelled = timers.after(10, at(10));
    timers.after(20, at(20));
    timers.cancel(cancelled);
    clock.advance(25);
    assert.deepEqual(fired, [20]);
    clock.advance(10);
    assert.deepEqual([fired, timers.size], [[20, 30], 0]);
  });
  test('many cancelled timers are compacted away', () => {
    const timers = new RequestTimers(new ManualClock());
    for (let i = 0; i < 1000; i++) timers.cancel(timers.after(60_000, { expire: () => assert.fail('cancelled') }));
    assert.equal(timers.size, 0);
  });
});

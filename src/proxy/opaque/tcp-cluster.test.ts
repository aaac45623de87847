/**
 * The cluster behind an opaque connection: the DestinationRule's tls mode toward a mesh service, connectionPool.tcp
 * limits on the tunnel, PASSTHROUGH to the endpoint the app dialled, the breaker (maxConnections with and without a
 * pending slot: UO) and outlier detection fed by connect failures (UF).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { DEAD, HOST, V1, V2, captured, capturedOnce, connectOnce, lastEntry, proxy, route, startEchoes, stopEchoes, v1, v2 } from './tcp-proxy.fixture.js';
import type { Proxy } from './tcp-proxy.fixture.js';

before(startEchoes);
after(stopEchoes);

describe('DestinationRule tls mode toward a mesh service', () => {
  const tlsPolicy = (mode: 'DISABLE' | 'ISTIO_MUTUAL'): Partial<TrafficPolicyConfig> => ({
    tls: { mode, sni: null, subjectAltNames: [], caCertificates: null, clientCertificate: null, privateKey: null, credentialName: null, insecureSkipVerify: false },
  });
  test('DISABLE: plaintext to the app port, though the destination would take mTLS', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], mtls: true, policy: tlsPolicy('DISABLE') });
    assert.equal(await capturedOnce(p), 'one hi');
    p.close();
  });
  test("ISTIO_MUTUAL (the default): mTLS to the sidecar's inbound port, which this proxy without a certificate cannot open", async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], mtls: true, policy: tlsPolicy('ISTIO_MUTUAL') });
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'UF');
    p.close();
  });
});

describe('connectionPool.tcp limits on a tunnel', () => {
  const pool = (over: Partial<TrafficPolicyConfig['connectionPool']>): Partial<TrafficPolicyConfig> => ({ connectionPool: { ...DEFAULT_TRAFFIC_POLICY.connectionPool, ...over } });
  const closedAfterReply = (p: Proxy): Promise<void> =>
    captured(p).then(
      ({ reply, socket }) =>
        new Promise<void>((resolve) => {
          assert.equal(reply, 'one hi');
          socket.once('close', () => resolve());
        }),
    );
  test('idleTimeout: a silent tunnel is closed by the sidecar', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool({ tcpIdleTimeoutMs: 150 }) });
    await closedAfterReply(p);
    p.close();
  });
  test('maxConnectionDuration: a tunnel is closed when its time is up', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool({ maxConnectionDurationMs: 150 }) });
    await closedAfterReply(p);
    p.close();
  });
  test('tcpKeepalive: the sidecar turns keepalive on for its upstream socket (as the kernel reports it)', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool({ tcpKeepalive: { probes: 3, timeMs: 7_000, intervalMs: 1_000 } }) });
    const { socket } = await captured(p);
    // The echo server's accepted socket has the sidecar's upstream socket as its peer.
    const peerPort = [...v1.open].at(-1)!.remotePort!;
    const timers = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${peerPort} )`]).toString();
    assert.match(timers, /timer:\(keepalive/);
    socket.destroy();
    p.close();
  });
});

describe('PASSTHROUGH: where the app dialled', () => {
  const passthrough: Partial<TrafficPolicyConfig> = { loadBalancer: { policy: 'PASSTHROUGH' } };
  test('an endpoint dialled directly is the one connected, whatever the balancer would pick', async () => {
    const p = await proxy({ policy: passthrough });
    p.dialledAddress = V2;
    p.dialledPort = v2.port;
    for (let i = 0; i < 5; i++) assert.equal(await capturedOnce(p), 'two hi');
    p.dialledAddress = V1;
    p.dialledPort = v1.port;
    assert.equal(await capturedOnce(p), 'one hi');
    p.close();
  });
  test('the service address dialled: no endpoint is that address, so no healthy upstream (UH)', async () => {
    const p = await proxy({ policy: passthrough });
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'UH');
    p.close();
  });
});

describe('circuit breaking and outlier detection per connection', () => {
  const pool = (maxConnections: number, maxPendingRequests: number): Partial<TrafficPolicyConfig> => ({ connectionPool: { ...DEFAULT_TRAFFIC_POLICY.connectionPool, maxConnections, maxPendingRequests } });
  test('maxConnections 1 and no pending slot: a second connection is closed with UO; once the first closes, it works', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool(1, 0) });
    const first = await captured(p);
    assert.equal(first.reply, 'one hi');
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'UO');
    assert.match(await connectOnce(p), /^HTTP\/1.1 503/);
    first.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await capturedOnce(p), 'one hi');
    p.close();
  });
  test('maxConnections 1 with one pending slot: the second waits and connects when the first closes', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool(1, 1) });
    const first = await captured(p);
    let answered = false;
    const second = captured(p, 'late').then((r) => ((answered = true), r));
    // The third is refused only once the second holds the pending slot, so this also waits for the second to queue.
    assert.equal(await capturedOnce(p), '', 'a third finds the pending slot taken');
    assert.equal(lastEntry(p)?.responseFlags, 'UO');
    assert.equal(answered, false, 'the second is still waiting while the first is open');
    first.socket.destroy();
    const s = await second;
    assert.equal(s.reply, 'one late');
    s.socket.destroy();
    p.close();
  });
  test('a refused connect is UF and counts for outlier detection: the dead host is ejected, the rest carry on', async () => {
    const outlierDetection = { ...OUTLIER };
    const p = await proxy({ all: [V1, DEAD], policy: { outlierDetection, loadBalancer: { policy: 'ROUND_ROBIN' } } });
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push(await capturedOnce(p));
    assert.equal(replies.filter((r) => r === '').length, 1, 'one failure ejects the dead host');
    assert.ok(p.entries.some((e) => e.responseFlags === 'UF' && /upstream connect error/.test(e.reason ?? '')));
    assert.equal(p.rt.endpoints.endpoint(`outbound|9000||${HOST}`, DEAD)?.ejected, true);
    p.close();
  });
});

const OUTLIER = {
  consecutive5xx: 1,
  consecutiveGatewayErrors: 0,
  consecutiveLocalOriginFailures: 5,
  splitExternalLocalOriginErrors: false,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 100,
  minHealthPercent: 0,
};

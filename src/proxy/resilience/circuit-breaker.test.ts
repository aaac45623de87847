/** Circuit breaking from connectionPool: Envoy's thresholds and the 503 UO overflow, as plain decisions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMITTED, CircuitBreaker } from './circuit-breaker.js';
import type { ConnectionPoolPolicy } from '../../proxyconfig/types.js';

const UNLIMITED = 4_294_967_295;

const OVERFLOW_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';

describe('circuit breaker', () => {
  // Istio's circuit-breaking task: maxConnections 1, http1MaxPendingRequests 1, maxRequestsPerConnection 1.
  const limits: ConnectionPoolPolicy = {
    maxConnections: 1,
    maxPendingRequests: 1,
    maxRequests: UNLIMITED,
    maxRetries: UNLIMITED,
    maxRequestsPerConnection: 1,
    connectTimeoutMs: 10_000,
    tcpIdleTimeoutMs: 3_600_000,
    httpIdleTimeoutMs: 3_600_000,
    maxConnectionDurationMs: 0,
    tcpKeepalive: null,
    h2UpgradePolicy: 'DEFAULT',
    useClientProtocol: false,
    maxConcurrentStreams: 2_147_483_647,
  };

  test("Istio's task: one connection, one waiting, the third concurrent request overflows with 503 UO", () => {
    const b = new CircuitBreaker(limits);
    assert.equal(b.startRequest(), ADMITTED);
    assert.equal(b.acquireConnection(false), 'connect');
    assert.equal(b.startRequest(), ADMITTED);
    assert.equal(b.acquireConnection(false), 'queue');
    assert.equal(b.startRequest(), ADMITTED);
    assert.deepEqual(b.acquireConnection(false), { admitted: false, status: 503, responseFlag: 'UO', resource: 'pending_requests', body: OVERFLOW_BODY });
    b.endRequest();
    assert.deepEqual(b.overflows, { connections: 2, pending_requests: 1, requests: 0, retries: 0 });
    assert.deepEqual([b.activeConnections, b.pendingRequests, b.activeRequests], [1, 1, 2]);
  });

  test('an idle connection is reused without counting a new one', () => {
    const b = new CircuitBreaker(limits);
    assert.equal(b.acquireConnection(true), 'reuse');
    assert.equal(b.activeConnections, 0);
  });

  test('http2MaxRequests caps requests in flight; the refusal is one shared object', () => {
    const b = new CircuitBreaker({ ...limits, maxRequests: 2 });
    assert.equal(b.startRequest(), ADMITTED);
    assert.equal(b.startRequest(), ADMITTED);
    const refused = b.startRequest();
    assert.deepEqual(refused, { admitted: false, status: 503, responseFlag: 'UO', resource: 'requests', body: OVERFLOW_BODY });
    assert.equal(b.startRequest(), refused);
    b.endRequest();
    assert.equal(b.startRequest(), ADMITTED);
  });

  test('maxRetries caps retries under way across the cluster', () => {
    const b = new CircuitBreaker({ ...limits, maxRetries: 1 });
    assert.equal(b.startRetry(), true);
    assert.equal(b.startRetry(), false);
    b.endRetry();
    assert.equal(b.startRetry(), true);
    assert.equal(b.overflows.retries, 1);
  });

  test('maxRequestsPerConnection 1 spends a connection after one request; 0 never', () => {
    assert.equal(new CircuitBreaker(limits).connectionSpent(1), true);
    assert.equal(new CircuitBreaker({ ...limits, maxRequestsPerConnection: 0 }).connectionSpent(10_000), false);
  });

  test('new limits from a push keep the counts of what is in flight', () => {
    const b = new CircuitBreaker(limits);
    b.startRequest();
    b.acquireConnection(false);
    b.setLimits({ ...limits, maxConnections: UNLIMITED });
    assert.equal(b.activeConnections, 1);
    assert.equal(b.acquireConnection(false), 'connect');
  });

  test('releases never go below zero', () => {
    const b = new CircuitBreaker(limits);
    b.endRequest();
    b.endPending();
    b.connectionClosed();
    b.endRetry();
    assert.deepEqual([b.activeConnections, b.pendingRequests, b.activeRequests, b.activeRetries], [0, 0, 0, 0]);
  });
});

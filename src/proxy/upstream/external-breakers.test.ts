import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTrafficPolicy } from '../../control/compile/cluster-policy.js';
import { ExternalBreakers } from './external-breakers.js';

const pool = (connectionPool: Record<string, unknown>) => compileTrafficPolicy({ connectionPool } as never).connectionPool;

test('one breaker per ServiceEntry host and port, its counters kept when a push brings new limits', () => {
  const breakers = new ExternalBreakers();
  const first = breakers.cluster('api.example.com', 443, pool({ http: { http2MaxRequests: 1 } }));
  assert.equal(first.name, 'outbound|443||api.example.com');
  const started: string[] = [];
  assert.deepEqual(first.admit(true, { gone: () => false, start: () => started.push('a') }), { admitted: true });
  assert.equal(first.admit(true, { gone: () => false, start: () => started.push('b') }).admitted, false);
  // The next push: same cluster, the request in flight still counted, a higher limit applied.
  const again = breakers.cluster('api.example.com', 443, pool({ http: { http2MaxRequests: 2 } }));
  assert.equal(again, first);
  assert.equal(again.breaker.activeRequests, 1);
  assert.deepEqual(again.admit(true, { gone: () => false, start: () => started.push('c') }), { admitted: true });
  assert.deepEqual(started, ['a', 'c']);
  assert.notEqual(breakers.cluster('api.example.com', 80, pool({})), first);
});

test('a released connection goes to the next waiting request that is still there', () => {
  const c = new ExternalBreakers().cluster('api.example.com', 80, pool({ tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 2 } }));
  const started: string[] = [];
  c.admit(true, { gone: () => false, start: () => started.push('first') });
  c.admit(true, { gone: () => true, start: () => started.push('left') });
  c.admit(true, { gone: () => false, start: () => started.push('waiting') });
  assert.equal(c.breaker.pendingRequests, 2);
  c.release(true);
  assert.deepEqual(started, ['first', 'waiting']);
  assert.deepEqual([c.breaker.pendingRequests, c.breaker.activeRequests, c.breaker.activeConnections], [0, 1, 1]);
  c.release(true);
  assert.deepEqual([c.breaker.activeRequests, c.breaker.activeConnections], [0, 0]);
});

test('maxRetries bounds retries across the cluster, as at a mesh cluster', () => {
  const c = new ExternalBreakers().cluster('api.example.com', 80, pool({ http: { maxRetries: 1 } }));
  assert.equal(c.breaker.startRetry(), true);
  assert.equal(c.breaker.startRetry(), false);
  c.breaker.endRetry();
  assert.equal(c.breaker.startRetry(), true);
});

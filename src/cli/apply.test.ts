import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppliedItem } from '../control/api/handler.js';
import { formatApplied } from './apply.js';

test('apply prints kubectl result lines', () => {
  const cases: [item: AppliedItem, line: string][] = [
    [{ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'default', name: 'bookinfo', result: 'created' }, 'virtualservice.networking.istio.io/bookinfo created'],
    [{ apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'details', result: 'unchanged' }, 'service/details unchanged'],
    [{ apiVersion: 'weft.dev/v1alpha1', kind: 'Workload', namespace: 'default', name: 'reviews-v1', result: 'configured' }, 'workload.weft.dev/reviews-v1 configured'],
    [{ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', namespace: 'default', name: 'deny', result: 'created' }, 'authorizationpolicy.security.istio.io/deny created'],
  ];
  for (const [item, line] of cases) assert.equal(formatApplied(item), line);
});

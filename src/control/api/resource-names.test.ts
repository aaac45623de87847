import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiGroup, notFoundMessage, pluralTypeName, typeName } from './resource-names.js';

test('kubectl type names for weft and Istio kinds', () => {
  const cases: [kind: string, apiVersion: string, singular: string, plural: string][] = [
    ['Service', 'v1', 'service', 'services'],
    ['VirtualService', 'networking.istio.io/v1', 'virtualservice.networking.istio.io', 'virtualservices.networking.istio.io'],
    ['ServiceEntry', 'networking.istio.io/v1', 'serviceentry.networking.istio.io', 'serviceentries.networking.istio.io'],
    ['Gateway', 'networking.istio.io/v1', 'gateway.networking.istio.io', 'gateways.networking.istio.io'],
    ['AuthorizationPolicy', 'security.istio.io/v1', 'authorizationpolicy.security.istio.io', 'authorizationpolicies.security.istio.io'],
    ['Workload', 'weft.dev/v1alpha1', 'workload.weft.dev', 'workloads.weft.dev'],
    ['MeshConfig', 'weft.dev/v1alpha1', 'meshconfig.weft.dev', 'meshconfigs.weft.dev'],
  ];
  for (const [kind, apiVersion, singular, plural] of cases) {
    assert.equal(typeName(kind, apiVersion), singular);
    assert.equal(pluralTypeName(kind, apiVersion), plural);
  }
  assert.equal(apiGroup('v1'), '');
  assert.equal(pluralTypeName('Sidecar'), 'sidecars');
  assert.equal(notFoundMessage('VirtualService', 'x', 'networking.istio.io/v1'), 'virtualservices.networking.istio.io "x" not found');
});

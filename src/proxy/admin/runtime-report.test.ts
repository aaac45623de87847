/** The proxy's runtime report: certificate metadata without key material, and endpoint health as outlier detection left it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../clock.js';
import { CertificateAuthority } from '../../identity/ca.js';
import { createRootCa } from '../../identity/root-ca.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import type { ClusterConfig, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { TestPki } from '../upstream/test-pki.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { WorkloadCertificate } from '../tls/workload-certificate.js';
import { runtimeReport } from './runtime-report.js';

const SPIFFE_ID = 'spiffe://cluster.local/ns/default/sa/client';

const cluster = (name: string): ClusterConfig => ({
  name,
  host: 'backend.default.svc.cluster.local',
  port: 8000,
  subset: 'v1',
  labels: { version: 'v1' },
  destinationRules: ['default/backend'],
  policy: {
    ...DEFAULT_TRAFFIC_POLICY,
    outlierDetection: { consecutive5xx: 2, consecutiveGatewayErrors: 0, consecutiveLocalOriginFailures: 5, splitExternalLocalOriginErrors: false, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, minHealthPercent: 0 },
  },
});

test('certificates and ejected endpoints, never the key', async () => {
  const ca = await CertificateAuthority.fromPem(await createRootCa({ now: Date.now() - 60_000 }));
  const cert = new WorkloadCertificate(SPIFFE_ID, systemClock, () => undefined);
  await cert.issue(async (csr) => {
    const svid = await ca.signCsr(csr, { spiffeId: SPIFFE_ID, ttlMs: 3_600_000 });
    return { certChainPem: [svid.certPem], trustBundlePem: [ca.trustBundlePem()] };
  });
  const rt = testRuntime({ cert });
  const name = 'outbound|8000|v1|backend.default.svc.cluster.local';
  rt.endpoints.apply([{ config: cluster(name), addresses: ['127.0.0.2', '127.0.0.3'] }]);
  const c = rt.endpoints.cluster(name)!;
  const bad = rt.endpoints.endpoint(name, '127.0.0.2')!;
  c.outlierDetector!.reportStatus(bad, 500);
  c.outlierDetector!.reportStatus(bad, 500);
  try {
    const report = runtimeReport(rt, systemClock);
    assert.equal(report.configVersion, null);
    assert.equal(report.truncated, false);
    assert.deepEqual(report.certificates.map((x) => [x.name, x.type]), [['default', 'Cert Chain'], ['ROOTCA', 'CA']]);
    assert.deepEqual(report.certificates[0]!.subjectAltNames, [`URI:${SPIFFE_ID}`]);
    assert.match(report.certificates[0]!.serialNumber, /^[0-9a-f]+$/);
    assert.ok(Date.parse(report.certificates[0]!.notAfter) > Date.now());
    assert.ok(!JSON.stringify(report).includes('PRIVATE'));
    const [health] = report.clusters;
    assert.equal(health?.name, name);
    assert.equal(health.outlierDetection, true);
    assert.deepEqual(health.endpoints.map((e) => [e.address, e.ejected, e.timesEjected]), [['127.0.0.2', true, 1], ['127.0.0.3', false, 0]]);
    assert.ok(health.endpoints[0]!.ejectedSince !== null);
  } finally {
    rt.endpoints.close();
    cert.stop();
  }
});

test("the certificates of DestinationRule credentials, named as Istio's SDS names them, never the key", async () => {
  const pki = new TestPki();
  try {
    const ca = await pki.ca('external-ca');
    const client = await pki.leaf(ca, 'client.example.com', [], 'client');
    const pem = (p: string): { secret: string; pem: string } => ({ secret: 'weft-system/client-credential', pem: p });
    const credential = { secret: 'weft-system/client-credential', certificate: pem(client.certPem), privateKey: pem(client.keyPem), ca: pem(ca.cert.toString('pem')) };
    const tls = { mode: 'MUTUAL' as const, sni: null, subjectAltNames: [], caCertificates: null, clientCertificate: null, privateKey: null, credentialName: 'client-credential', insecureSkipVerify: false, credential };
    const config: ProxyConfig = {
      schema: PROXY_CONFIG_SCHEMA,
      version: 'v',
      proxy: { role: 'gateway', namespace: 'weft-system', name: 'istio-egressgateway', spiffeId: 'spiffe://cluster.local/ns/weft-system/sa/istio-egressgateway-service-account', labels: {} },
      trustDomain: 'cluster.local',
      inbound: null,
      outbound: {
        services: [],
        externals: [{
          source: 'default/nginx', namespace: 'default', hosts: ['nginx.example.com'], addresses: [], dns: [],
          ports: [{ port: 443, name: 'https', protocol: 'tls', targetPort: 443 }, { port: 8443, name: 'https-2', protocol: 'tls', targetPort: 8443 }],
          location: 'MESH_EXTERNAL', resolution: 'DNS', endpoints: [],
          origination: [{ host: 'nginx.example.com', port: 443, tls }, { host: 'nginx.example.com', port: 8443, tls }],
        }],
        trafficPolicy: 'REGISTRY_ONLY',
      },
      gateway: null,
      security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
    };
    const report = runtimeReport(testRuntime({ config: acceptProxyConfig(config) }), systemClock);
    assert.deepEqual(report.certificates.map((x) => [x.name, x.type, x.subject]), [
      ['kubernetes://client-credential', 'Cert Chain', 'CN=client.example.com'],
      ['kubernetes://client-credential-cacert', 'CA', 'CN=external-ca'],
    ]);
    assert.ok(!JSON.stringify(report).includes('PRIVATE'));
  } finally {
    pki.remove();
  }
});

/**
 * DestinationRule `tls` toward ServiceEntry hosts, as a sidecar receives it: Istio's egress-tls-origination task
 * (SIMPLE on port 80 through portLevelSettings), MUTUAL with files, Istio's rule lookup (the client's namespace,
 * then the entry's, exportTo), and what is never carried (ISTIO_MUTUAL and DISABLE mean nothing outside the mesh).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import type { ExternalService } from '../../proxyconfig/types.js';
import { serviceEntry, sidecarConfig, snapshot, workload } from './outbound.fixture.js';

const CNN = serviceEntry('default', 'edition-cnn-com', {
  hosts: ['edition.cnn.com'],
  ports: [
    { number: 80, name: 'http-port', protocol: 'HTTP', targetPort: 443 },
    { number: 443, name: 'https-port', protocol: 'HTTPS' },
  ],
  resolution: 'DNS',
});
const rule = (namespace: string, name: string, spec: unknown): Resource => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z' } as Resource['metadata'],
  spec,
});
// Istio's task, as written.
const TASK_RULE = rule('default', 'edition-cnn-com', { host: 'edition.cnn.com', trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] } });

function cnn(resources: Resource[], ns = 'default'): ExternalService {
  const cfg = sidecarConfig(snapshot([CNN, workload('default', 'sleep'), workload('other', 'client'), ...resources]), ns, ns === 'default' ? 'sleep' : 'client');
  const e = cfg.outbound.externals.find((x) => x.source === 'default/edition-cnn-com');
  assert.ok(e);
  return e;
}

describe('TLS origination toward ServiceEntry hosts', () => {
  test("Istio's egress-tls-origination task: SIMPLE on port 80 only, Istio's defaults filled in", () => {
    assert.deepEqual(cnn([TASK_RULE]).origination, [
      { host: 'edition.cnn.com', port: 80, tls: { mode: 'SIMPLE', sni: null, subjectAltNames: [], caCertificates: null, clientCertificate: null, privateKey: null, credentialName: null, insecureSkipVerify: false } },
    ]);
  });
  test('MUTUAL at the top level applies to every port, with its files, SNI, SANs and CRL', () => {
    const tls = { mode: 'MUTUAL', clientCertificate: '/etc/certs/client.pem', privateKey: '/etc/certs/key.pem', caCertificates: '/etc/certs/ca.pem', sni: 'edition.cnn.com', subjectAltNames: ['edition.cnn.com'], caCrl: '/etc/certs/ca.crl' };
    const o = cnn([rule('default', 'm', { host: 'edition.cnn.com', trafficPolicy: { tls } })]).origination;
    assert.deepEqual(o?.map((x) => x.port), [80, 443]);
    assert.equal(o?.[0]?.tls.caCrl, '/etc/certs/ca.crl');
    assert.equal(o?.[0]?.tls.clientCertificate, '/etc/certs/client.pem');
  });
  const none: Array<[string, Resource[]]> = [
    ['no DestinationRule', []],
    ['ISTIO_MUTUAL', [rule('default', 'i', { host: 'edition.cnn.com', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } })]],
    ['DISABLE', [rule('default', 'd', { host: 'edition.cnn.com', trafficPolicy: { tls: { mode: 'DISABLE' } } })]],
    ['a rule for another host', [rule('default', 'o', { host: 'www.google.com', trafficPolicy: { tls: { mode: 'SIMPLE' } } })]],
  ];
  for (const [name, resources] of none) test(`nothing carried: ${name}`, () => assert.equal(cnn(resources).origination, undefined));
  test("the entry's namespace's rule reaches another namespace unless exportTo keeps it home", () => {
    assert.equal(cnn([TASK_RULE], 'other').origination?.length, 1);
    const home = rule('default', 'home', { host: 'edition.cnn.com', exportTo: ['.'], trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] } });
    assert.equal(cnn([home], 'other').origination, undefined);
  });
  test("a rule in the client's namespace wins over the entry's", () => {
    const own = rule('other', 'mine', { host: 'edition.cnn.com', trafficPolicy: { tls: { mode: 'SIMPLE', sni: 'mine.example' } } });
    assert.equal(cnn([TASK_RULE, own], 'other').origination?.[0]?.tls.sni, 'mine.example');
  });
});

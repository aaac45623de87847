import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import type { GatewayChain } from '../../proxyconfig/types.js';
import { buildSnapshot } from './snapshot.js';
import { compileGateway } from './gateway.js';

const BOOT = meshConfigWithDefaults({ trustDomain: 'example.org' });
const INGRESS = { istio: 'ingressgateway' };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

const meta = (namespace: string, name: string): Resource['metadata'] =>
  ({ namespace, name, labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z' }) as Resource['metadata'];
const secret = (namespace: string, name: string, data: Record<string, string>, type = 'kubernetes.io/tls'): Resource => ({
  apiVersion: 'v1', kind: 'Secret', metadata: meta(namespace, name), spec: { type, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) },
});
const gw = (servers: unknown[], selector = INGRESS, name = 'gw'): Resource => ({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: meta('default', name), spec: { selector, servers } });
const https = (hosts: string[], tls: Record<string, unknown>, name = 'https', protocol = 'HTTPS', port = 443): unknown => ({ port: { number: port, name, protocol }, hosts, tls });
const vs = (name: string, spec: Record<string, unknown>): Resource => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta('default', name), spec: { gateways: ['gw'], ...spec } });
const svc = (name: string, port: number): Resource => ({ apiVersion: 'v1', kind: 'Service', metadata: meta('default', name), spec: { selector: { app: name }, ports: [{ name: `tcp-${port}`, port }] } });

function chains(resources: Resource[], namespace = 'weft-system', labels = INGRESS): GatewayChain[] {
  return compileGateway(buildSnapshot(resources, 1, BOOT), labels, namespace).flatMap((s) => s.chains ?? []);
}

const TLS_SECRET = secret('weft-system', 'cred', { 'tls.crt': 'CERT', 'tls.key': 'KEY' });

describe('gateway TLS: where the certificate comes from (Istio ServerTLSSettings)', () => {
  const rows: Array<{ name: string; tls: Record<string, unknown>; extra?: Resource[]; want: Record<string, unknown> }> = [
    { name: 'credentialName: the Secret in the gateway workload namespace', tls: { mode: 'SIMPLE', credentialName: 'cred' }, want: { certs: ['CERT|KEY'], ca: undefined, problem: undefined } },
    { name: 'a Secret in another namespace is not found', tls: { mode: 'SIMPLE', credentialName: 'cred' }, extra: [secret('default', 'cred2', { 'tls.crt': 'X', 'tls.key': 'Y' })], want: { certs: ['CERT|KEY'], ca: undefined, problem: undefined } },
    { name: 'a missing Secret: no certificate, every handshake refused', tls: { mode: 'SIMPLE', credentialName: 'nope' }, want: { certs: [], ca: undefined, problem: 'Secret weft-system/nope not found' } },
    { name: 'MUTUAL with ca.crt in the same Secret', tls: { mode: 'MUTUAL', credentialName: 'mtls' }, extra: [secret('weft-system', 'mtls', { 'tls.crt': 'C', 'tls.key': 'K', 'ca.crt': 'CA' })], want: { certs: ['C|K'], ca: 'CA', problem: undefined } },
    { name: 'MUTUAL with the <name>-cacert Secret', tls: { mode: 'MUTUAL', credentialName: 'cred' }, extra: [secret('weft-system', 'cred-cacert', { 'ca.crt': 'CA2' }, 'Opaque')], want: { certs: ['CERT|KEY'], ca: 'CA2', problem: undefined } },
    { name: 'MUTUAL with caCertCredentialName', tls: { mode: 'MUTUAL', credentialName: 'cred', caCertCredentialName: 'roots' }, extra: [secret('weft-system', 'roots', { cacert: 'CA3' }, 'Opaque')], want: { certs: ['CERT|KEY'], ca: 'CA3', problem: undefined } },
    { name: 'MUTUAL without any CA refuses every handshake', tls: { mode: 'MUTUAL', credentialName: 'cred' }, want: { certs: [], ca: undefined, problem: 'mode MUTUAL needs a client CA: ca.crt in the Secret, the cred-cacert Secret or caCertificates' } },
    { name: "Istio's generic layout: cert, key, cacert", tls: { mode: 'OPTIONAL_MUTUAL', credentialName: 'gen' }, extra: [secret('weft-system', 'gen', { cert: 'GC', key: 'GK', cacert: 'GCA' }, 'Opaque')], want: { certs: ['GC|GK'], ca: 'GCA', problem: undefined } },
    { name: 'SIMPLE ignores a CA', tls: { mode: 'SIMPLE', credentialName: 'mtls' }, extra: [secret('weft-system', 'mtls', { 'tls.crt': 'C', 'tls.key': 'K', 'ca.crt': 'CA' })], want: { certs: ['C|K'], ca: undefined, problem: undefined } },
    { name: 'files on the gateway', tls: { mode: 'MUTUAL', serverCertificate: '/etc/c.pem', privateKey: '/etc/k.pem', caCertificates: '/etc/ca.pem' }, want: { certs: ['file:/etc/c.pem|file:/etc/k.pem'], ca: 'file:/etc/ca.pem', problem: undefined } },
    { name: 'ISTIO_MUTUAL serves the gateway SVID', tls: { mode: 'ISTIO_MUTUAL' }, want: { certs: [], ca: undefined, problem: undefined } },
  ];
  const pem = (p: { pem: string } | { file: string }): string => ('pem' in p ? p.pem : `file:${p.file}`);
  for (const row of rows) {
    test(row.name, () => {
      const [chain] = chains([TLS_SECRET, ...(row.extra ?? []), gw([https(['a.example.com'], row.tls)])]);
      const t = chain?.tls;
      assert.ok(t);
      assert.deepEqual(
        { certs: t.certificates.map((c) => `${pem(c.chain)}|${pem(c.privateKey)}`), ca: t.clientCa && pem(t.clientCa), problem: t.problem },
        row.want,
      );
    });
  }

  test('protocol versions, ciphers, SANs and hashes as written; TLS 1.2 to 1.3 by default', () => {
    const [d] = chains([TLS_SECRET, gw([https(['a.example.com'], { mode: 'SIMPLE', credentialName: 'cred' })])]);
    assert.deepEqual([d?.tls?.minProtocolVersion, d?.tls?.maxProtocolVersion], ['TLSv1.2', 'TLSv1.3']);
    const [c] = chains([TLS_SECRET, gw([https(['a.example.com'], {
      mode: 'MUTUAL', credentialName: 'cred', caCertificates: '/ca', minProtocolVersion: 'TLSV1_3', maxProtocolVersion: 'TLSV1_3', cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256'],
      subjectAltNames: ['client.example.com'], verifyCertificateSpki: ['abc='], verifyCertificateHash: ['AB:CD:EF'],
    })])]);
    assert.deepEqual(
      [c?.tls?.minProtocolVersion, c?.tls?.maxProtocolVersion, c?.tls?.cipherSuites, c?.tls?.subjectAltNames, c?.tls?.verifyCertificateSpki, c?.tls?.verifyCertificateHash],
      ['TLSv1.3', 'TLSv1.3', ['ECDHE-ECDSA-AES128-GCM-SHA256'], ['client.example.com'], ['abc='], ['abcdef']],
    );
  });

  test('a Secret reaches only the gateways whose Gateways name it', () => {
    const resources = [TLS_SECRET, gw([https(['a.example.com'], { mode: 'SIMPLE', credentialName: 'cred' })]), gw([{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }], { istio: 'egressgateway' }, 'egress')];
    assert.ok(JSON.stringify(chains(resources)).includes('KEY'));
    const egress = compileGateway(buildSnapshot(resources, 1, BOOT), { istio: 'egressgateway' }, 'weft-system');
    assert.equal(JSON.stringify(egress).includes('KEY'), false);
  });
});

describe('gateway chains: one per TLS or TCP server, each with only its own routes', () => {
  const route = (host: string): Record<string, unknown> => ({ route: [{ destination: { host } }] });

  test('two HTTPS servers on one port: two chains, a VirtualService bound only where its hosts match', () => {
    const got = chains([
      TLS_SECRET,
      gw([https(['a.example.com'], { mode: 'SIMPLE', credentialName: 'cred' }, 'a'), https(['default/b.example.com'], { mode: 'SIMPLE', credentialName: 'cred' }, 'b')]),
      vs('a', { hosts: ['a.example.com'], http: [route('web')] }),
      vs('b', { hosts: ['b.example.com'], http: [route('web')] }),
    ]);
    assert.deepEqual(got.map((c) => [c.server, c.sniHosts, c.virtualHosts?.map((v) => v.domains)]), [
      ['default/gw/a', ['a.example.com'], [['a.example.com']]],
      ['default/gw/b', ['b.example.com'], [['b.example.com']]],
    ]);
  });

  test('PASSTHROUGH: tls routes by SNI, nothing terminated', () => {
    const [c] = chains([
      gw([https(['nginx.example.com'], { mode: 'PASSTHROUGH' }, 'tls', 'TLS')]),
      svc('my-nginx', 443),
      vs('nginx', { hosts: ['nginx.example.com'], tls: [{ match: [{ port: 443, sniHosts: ['nginx.example.com'] }], route: [{ destination: { host: 'my-nginx', port: { number: 443 } } }] }] }),
    ]);
    assert.equal(c?.tls, undefined);
    assert.deepEqual(c?.tlsRoutes?.map((r) => [r.match, r.destinations]), [[[{ sniHosts: ['nginx.example.com'], port: 443 }], [{ host: 'my-nginx.default.svc.cluster.local', port: 443, weight: 100 }]]]);
  });

  test('TCP: one chain for any name, the tcp routes', () => {
    const [c] = chains([
      gw([{ port: { number: 31400, name: 'tcp', protocol: 'TCP' }, hosts: ['*'] }]),
      svc('tcp-echo', 9000),
      vs('tcp', { hosts: ['*'], tcp: [{ match: [{ port: 31400 }], route: [{ destination: { host: 'tcp-echo', port: { number: 9000 } } }] }] }),
    ]);
    assert.deepEqual([c?.sniHosts, c?.tcp?.[0]?.destinations], [['*'], [{ host: 'tcp-echo.default.svc.cluster.local', port: 9000, weight: 100 }]]);
  });

  test('httpsRedirect: every host of the HTTP server redirects, whatever is bound', () => {
    const servers = compileGateway(buildSnapshot([gw([{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['ns/a.example.com'], tls: { httpsRedirect: true } }])], 1, BOOT), INGRESS);
    assert.deepEqual(servers[0]?.virtualHosts, [{ gateway: 'default/gw', domains: ['a.example.com'], routes: [], httpsRedirect: true }]);
  });
});

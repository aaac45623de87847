/**
 * DestinationRule `tls` at the egress gateway (Istio's "Egress Gateways with TLS Origination"): the rule for the
 * external host, found from the gateway's root namespace by Istio's lookup, makes the gateway originate; and
 * `credentialName` by Istio's ClientTLSSettings reference: a Secret in the namespace of the proxy using it, in
 * either key layout, the CA in it or in `<name>-cacert`, applied at gateways and at sidecars only through a
 * workloadSelector, its material in no other proxy's config and hidden wherever a config is shown.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import type { ClientTlsPolicy, ProxyConfig } from '../../proxyconfig/types.js';
import { withoutPrivateKeys } from '../secrets/redact-secret.js';
import { compileProxyConfig } from './index.js';
import { BOOT, serviceEntry, sidecarConfig, snapshot, workload } from './outbound.fixture.js';

const ROOT = BOOT.rootNamespace;
const HOST = 'edition.cnn.com';
const meta = (namespace: string, name: string): Resource['metadata'] =>
  ({ namespace, name, labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z' }) as Resource['metadata'];
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const secret = (namespace: string, name: string, data: Record<string, string>, type = 'Opaque'): Resource => ({
  apiVersion: 'v1', kind: 'Secret', metadata: meta(namespace, name), spec: { type, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) },
});
const rule = (namespace: string, name: string, spec: Record<string, unknown>): Resource => ({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(namespace, name), spec: { host: HOST, ...spec } });
const at443 = (tls: Record<string, unknown>): Record<string, unknown> => ({ trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' }, portLevelSettings: [{ port: { number: 443 }, tls }] } });
// Istio's task, as written: the entry in default, the gateway in the root namespace.
const CNN = serviceEntry('default', 'cnn', {
  hosts: [HOST],
  ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'https', protocol: 'HTTPS' }],
  resolution: 'DNS',
});
const TASK_RULE = rule('default', 'originate-tls-for-edition-cnn-com', at443({ mode: 'SIMPLE' }));
const CLIENT = { 'tls.crt': 'CLIENT-CERT', 'tls.key': 'CLIENT-KEY', 'ca.crt': 'SERVER-CA' };

function egressGateway(resources: Resource[]): ProxyConfig {
  const snap = snapshot([CNN, workload('default', 'sleep'), ...resources]);
  return ProxyConfigSchema.parse(compileProxyConfig(snap, { role: 'gateway', namespace: ROOT, name: 'istio-egressgateway', serviceAccount: 'istio-egressgateway-service-account', labels: { istio: 'egressgateway' } }));
}

function origination(cfg: ProxyConfig, port = 443): ClientTlsPolicy | undefined {
  return cfg.outbound.externals.find((e) => e.source === 'default/cnn')?.origination?.find((o) => o.port === port)?.tls;
}

describe('DestinationRule tls at the egress gateway', () => {
  test("Istio's task: the rule in the entry's namespace makes the gateway originate SIMPLE on port 443 only", () => {
    const cfg = egressGateway([TASK_RULE]);
    assert.equal(origination(cfg)?.mode, 'SIMPLE');
    assert.equal(origination(cfg, 80), undefined);
  });
  test('sni, subjectAltNames, caCertificates and insecureSkipVerify are carried as at sidecars', () => {
    const tls = origination(egressGateway([rule('default', 'r', at443({ mode: 'SIMPLE', sni: 'sni.example', subjectAltNames: ['san.example'], caCertificates: '/etc/ca.pem' }))]));
    assert.deepEqual([tls?.sni, tls?.subjectAltNames, tls?.caCertificates, tls?.insecureSkipVerify], ['sni.example', ['san.example'], '/etc/ca.pem', false]);
  });
  test("a rule kept home by exportTo does not reach the gateway; one in the root namespace does; the gateway's own namespace wins", () => {
    assert.equal(origination(egressGateway([rule('default', 'home', { exportTo: ['.'], ...at443({ mode: 'SIMPLE' }) })])), undefined);
    assert.equal(origination(egressGateway([rule(ROOT, 'root', at443({ mode: 'SIMPLE', sni: 'root.example' }))]))?.sni, 'root.example');
    const both = egressGateway([TASK_RULE, rule(ROOT, 'root', at443({ mode: 'MUTUAL', credentialName: 'c' }))]);
    assert.equal(origination(both)?.mode, 'MUTUAL');
  });
});

describe('credentialName (ClientTLSSettings)', () => {
  const rows: Array<{ name: string; tls: Record<string, unknown>; secrets: Resource[]; want: Record<string, unknown> }> = [
    { name: 'MUTUAL: tls.crt, tls.key and ca.crt of a Secret in the gateway\'s namespace', tls: { mode: 'MUTUAL', credentialName: 'client-credential' }, secrets: [secret(ROOT, 'client-credential', CLIENT)], want: { cert: 'CLIENT-CERT', key: 'CLIENT-KEY', ca: 'SERVER-CA', crl: undefined, problem: undefined } },
    { name: 'kubernetes.io/tls with ca.crl', tls: { mode: 'MUTUAL', credentialName: 'k' }, secrets: [secret(ROOT, 'k', { ...CLIENT, 'ca.crl': 'CRL' }, 'kubernetes.io/tls')], want: { cert: 'CLIENT-CERT', key: 'CLIENT-KEY', ca: 'SERVER-CA', crl: 'CRL', problem: undefined } },
    { name: "Istio's generic layout: cert, key, cacert, crl", tls: { mode: 'MUTUAL', credentialName: 'g' }, secrets: [secret(ROOT, 'g', { cert: 'C', key: 'K', cacert: 'CA', crl: 'R' })], want: { cert: 'C', key: 'K', ca: 'CA', crl: 'R', problem: undefined } },
    { name: 'the CA from the <name>-cacert Secret', tls: { mode: 'MUTUAL', credentialName: 'c' }, secrets: [secret(ROOT, 'c', { 'tls.crt': 'C', 'tls.key': 'K' }), secret(ROOT, 'c-cacert', { cacert: 'CA2' })], want: { cert: 'C', key: 'K', ca: 'CA2', crl: undefined, problem: undefined } },
    { name: 'SIMPLE: only the CA is taken', tls: { mode: 'SIMPLE', credentialName: 'client-credential' }, secrets: [secret(ROOT, 'client-credential', CLIENT)], want: { cert: undefined, key: undefined, ca: 'SERVER-CA', crl: undefined, problem: undefined } },
    { name: 'a Secret in another namespace is not found', tls: { mode: 'MUTUAL', credentialName: 'client-credential' }, secrets: [secret('default', 'client-credential', CLIENT)], want: { cert: undefined, key: undefined, ca: undefined, crl: undefined, problem: `Secret ${ROOT}/client-credential not found; no CA to verify the server: neither ca.crt (or cacert) in Secret ${ROOT}/client-credential nor a Secret ${ROOT}/client-credential-cacert` } },
    { name: 'MUTUAL without a key pair', tls: { mode: 'MUTUAL', credentialName: 'ca-only' }, secrets: [secret(ROOT, 'ca-only', { 'ca.crt': 'CA' })], want: { cert: undefined, key: undefined, ca: 'CA', crl: undefined, problem: `Secret ${ROOT}/ca-only has no cert and key for MUTUAL` } },
    { name: 'no CA anywhere', tls: { mode: 'SIMPLE', credentialName: 'k' }, secrets: [secret(ROOT, 'k', { 'tls.crt': 'C', 'tls.key': 'K' })], want: { cert: undefined, key: undefined, ca: undefined, crl: undefined, problem: `no CA to verify the server: neither ca.crt (or cacert) in Secret ${ROOT}/k nor a Secret ${ROOT}/k-cacert` } },
    { name: 'insecureSkipVerify needs no CA', tls: { mode: 'MUTUAL', credentialName: 'k', insecureSkipVerify: true }, secrets: [secret(ROOT, 'k', { 'tls.crt': 'C', 'tls.key': 'K' })], want: { cert: 'C', key: 'K', ca: undefined, crl: undefined, problem: undefined } },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const c = origination(egressGateway([...row.secrets, rule('default', 'r', at443(row.tls))]))?.credential;
      assert.ok(c);
      assert.equal(c.secret, `${ROOT}/${row.tls['credentialName'] as string}`);
      assert.deepEqual({ cert: c.certificate?.pem, key: c.privateKey?.pem, ca: c.ca?.pem, crl: c.crl?.pem, problem: c.problem }, row.want);
    });
  }

  const mutualRule = rule('default', 'r', at443({ mode: 'MUTUAL', credentialName: 'client-credential' }));
  test("a sidecar keeps the file fields when the rule has no workloadSelector: no credential, no Secret's material", () => {
    const resources = [CNN, workload('default', 'sleep'), secret('default', 'client-credential', CLIENT), secret(ROOT, 'client-credential', CLIENT), mutualRule];
    const cfg = sidecarConfig(snapshot(resources), 'default', 'sleep');
    const tls = cfg.outbound.externals.find((e) => e.source === 'default/cnn')?.origination?.[0]?.tls;
    assert.equal(tls?.credentialName, 'client-credential');
    assert.equal(tls?.credential, undefined);
    assert.doesNotMatch(JSON.stringify(cfg), /CLIENT-KEY/);
  });
  test('a sidecar a workloadSelector chose takes the Secret of its own namespace', () => {
    const selected = rule('default', 's', { workloadSelector: { matchLabels: { app: 'sleep' } }, ...at443({ mode: 'MUTUAL', credentialName: 'client-credential' }) });
    const resources = [CNN, workload('default', 'sleep'), workload('default', 'other'), secret('default', 'client-credential', { ...CLIENT, 'tls.key': 'SLEEP-KEY' }), selected];
    const snap = snapshot(resources);
    const tls = sidecarConfig(snap, 'default', 'sleep').outbound.externals.find((e) => e.source === 'default/cnn')?.origination?.[0]?.tls;
    assert.equal(tls?.credential?.privateKey?.pem, 'SLEEP-KEY');
    assert.equal(tls?.credential?.secret, 'default/client-credential');
    assert.doesNotMatch(JSON.stringify(sidecarConfig(snap, 'default', 'other')), /SLEEP-KEY/);
  });
  test("a sidecar in the gateway's namespace never shares the gateway's material", () => {
    const snap = snapshot([CNN, workload(ROOT, 'tool'), secret(ROOT, 'client-credential', CLIENT), mutualRule]);
    const gw = ProxyConfigSchema.parse(compileProxyConfig(snap, { role: 'gateway', namespace: ROOT, name: 'istio-egressgateway', serviceAccount: 'istio-egressgateway-service-account', labels: { istio: 'egressgateway' } }));
    assert.match(JSON.stringify(gw), /CLIENT-KEY/);
    assert.doesNotMatch(JSON.stringify(sidecarConfig(snap, ROOT, 'tool')), /CLIENT-KEY/);
  });
  test('a changed Secret is a changed config; shown configs hide the private key', () => {
    const before = egressGateway([secret(ROOT, 'client-credential', CLIENT), mutualRule]);
    const after = egressGateway([secret(ROOT, 'client-credential', { ...CLIENT, 'tls.crt': 'ROTATED-CERT', 'tls.key': 'ROTATED-KEY' }), mutualRule]);
    assert.notEqual(before.version, after.version);
    assert.equal(origination(after)?.credential?.certificate?.pem, 'ROTATED-CERT');
    const shown = JSON.stringify(withoutPrivateKeys(after));
    assert.doesNotMatch(shown, /ROTATED-KEY/);
    assert.match(shown, /<redacted>/);
  });
});

/**
 * IST0161 InvalidGatewayCredential, case by case from Istio's analyzer page: a missing Secret, a Secret outside the
 * gateway workload's namespace, a Secret without a key pair, a MUTUAL server without a client CA; and the forms that
 * are valid (ca.crt in the Secret, the `<name>-cacert` Secret, the sealed form the store keeps).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const ROOT = 'weft-system';
const PEM = Buffer.from('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n').toString('base64');

function gateway(namespace: string, tls: Record<string, unknown>, selector: Record<string, string> = { istio: 'ingressgateway' }): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: { name: 'gw', namespace, labels: {}, annotations: {} },
    spec: { selector, servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['shop.example.com'], tls }] },
  };
}

function secret(namespace: string, name: string, keys: readonly string[]): Resource {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: {}, annotations: {} }, spec: { type: 'kubernetes.io/tls', data: Object.fromEntries(keys.map((k) => [k, PEM])) } };
}

function sealed(namespace: string, name: string, keys: readonly string[]): Resource {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: {}, annotations: {} }, spec: { type: 'kubernetes.io/tls', sealed: { keys: [...keys], digest: 'd', box: 'b' } } };
}

const workload = (namespace: string): Resource => ({
  apiVersion: 'weft.dev/v1alpha1',
  kind: 'Workload',
  metadata: { name: 'edge', namespace, labels: { app: 'edge' }, annotations: {} },
  spec: { serviceAccount: 'edge', command: ['node', 'edge.js'], ports: [{ name: 'https', containerPort: 443 }] },
});

const PAIR = ['tls.crt', 'tls.key'];

const CASES: { name: string; resources: Resource[]; want: string[] }[] = [
  { name: 'missing Secret', resources: [gateway('shop', { mode: 'SIMPLE', credentialName: 'shop-cert' })], want: ['Secret weft-system/shop-cert not found'] },
  {
    name: "Secret in the Gateway's namespace, not the gateway workload's",
    resources: [gateway('shop', { mode: 'SIMPLE', credentialName: 'shop-cert' }), secret('shop', 'shop-cert', PAIR)],
    want: ['Secret weft-system/shop-cert not found'],
  },
  { name: "Secret in the workload's namespace", resources: [gateway('shop', { mode: 'SIMPLE', credentialName: 'shop-cert' }), secret(ROOT, 'shop-cert', PAIR)], want: [] },
  { name: 'sealed Secret as the store keeps it', resources: [gateway('shop', { mode: 'SIMPLE', credentialName: 'shop-cert' }), sealed(ROOT, 'shop-cert', PAIR)], want: [] },
  { name: 'Secret without a key pair', resources: [gateway('shop', { mode: 'SIMPLE', credentialName: 'shop-cert' }), secret(ROOT, 'shop-cert', ['ca.crt'])], want: ['has no tls.crt and tls.key'] },
  {
    name: 'credentialNames: each is looked up',
    resources: [gateway('shop', { mode: 'SIMPLE', credentialNames: ['rsa', 'ecdsa'] }), secret(ROOT, 'rsa', PAIR)],
    want: ['Secret weft-system/ecdsa not found'],
  },
  { name: 'MUTUAL without a client CA', resources: [gateway('shop', { mode: 'MUTUAL', credentialName: 'c' }), secret(ROOT, 'c', PAIR)], want: ['needs a client CA'] },
  { name: 'MUTUAL with ca.crt in the Secret', resources: [gateway('shop', { mode: 'MUTUAL', credentialName: 'c' }), secret(ROOT, 'c', [...PAIR, 'ca.crt'])], want: [] },
  {
    name: 'MUTUAL with the <name>-cacert Secret',
    resources: [gateway('shop', { mode: 'MUTUAL', credentialName: 'c' }), secret(ROOT, 'c', PAIR), { ...secret(ROOT, 'c-cacert', ['ca.crt']), spec: { data: { 'ca.crt': PEM } } }],
    want: [],
  },
  { name: 'ISTIO_MUTUAL takes no Secret', resources: [gateway('shop', { mode: 'ISTIO_MUTUAL' })], want: [] },
  {
    name: "a gateway Workload of the user's: its own namespace",
    resources: [gateway('shop', { mode: 'SIMPLE', credentialName: 'edge-cert' }, { app: 'edge' }), workload('edge'), secret('edge', 'edge-cert', PAIR)],
    want: [],
  },
  {
    name: "a gateway Workload of the user's, Secret elsewhere",
    resources: [gateway('shop', { mode: 'SIMPLE', credentialName: 'edge-cert' }, { app: 'edge' }), workload('edge'), secret(ROOT, 'edge-cert', PAIR)],
    want: ['Secret edge/edge-cert not found'],
  },
];

describe('weft analyze: IST0161 InvalidGatewayCredential', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const findings = analyzeResources(c.resources.map((resource) => ({ resource }))).filter((f) => f.code === 'IST0161');
      assert.equal(findings.length, c.want.length === 0 ? 0 : 1, JSON.stringify(findings));
      for (const w of c.want) assert.match(findings[0]!.message, new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      for (const f of findings) {
        assert.equal(f.field, 'spec.servers[0].tls');
        assert.ok(f.fix.length > 0);
      }
    });
  }
});

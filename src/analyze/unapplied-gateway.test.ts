import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const gateway = (servers: unknown[]): Resource =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'g', namespace: 'default', labels: {}, annotations: {} }, spec: { selector: { istio: 'ingressgateway' }, servers } }) as unknown as Resource;
const http = { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] };

/** WEFT0132: what a Gateway sets that weft accepts and does not apply, server by server. */
const cases: { name: string; servers: unknown[]; want: string[] }[] = [
  { name: 'applied settings only', servers: [{ ...http, name: 'web', tls: { httpsRedirect: true } }], want: [] },
  { name: 'bind', servers: [http, { ...http, port: { number: 8080, name: 'internal', protocol: 'HTTP' }, bind: '127.0.0.1' }], want: ['spec.servers[1].bind'] },
  { name: 'defaultEndpoint and targetPort', servers: [{ ...http, port: { ...http.port, targetPort: 8080 }, defaultEndpoint: '127.0.0.1:8080' }], want: ['spec.servers[0].defaultEndpoint', 'spec.servers[0].port.targetPort'] },
  {
    name: 'insecureSkipVerify true (false is what weft does)',
    servers: [
      { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'MUTUAL', credentialName: 'cert', insecureSkipVerify: true } },
      { port: { number: 8443, name: 'https-2', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'MUTUAL', credentialName: 'cert', insecureSkipVerify: false } },
    ],
    want: ['spec.servers[0].tls.insecureSkipVerify'],
  },
];

test('WEFT0132: Gateway settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources([{ resource: gateway(c.servers) }]).filter((f) => f.code === 'WEFT0132');
    assert.deepEqual(found.map((f) => f.field).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});

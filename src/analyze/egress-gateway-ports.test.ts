import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const meta = (name: string, namespace: string): Resource['metadata'] => ({ name, namespace, labels: {}, annotations: {} });
/** The Service `weft up` writes for the egress gateway, with the ports of the Gateways it started with. */
const egressService = (namespace: string, ports: number[]): Resource =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('istio-egressgateway', namespace),
    spec: { selector: { istio: 'egressgateway', app: 'istio-egressgateway' }, ports: ports.map((port) => ({ name: `tls-${port}`, port, appProtocol: 'tls' })) },
  }) as unknown as Resource;
const gateway = (name: string, selector: Record<string, string>, ports: number[]): Resource =>
  ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: meta(name, 'default'),
    spec: { selector, servers: ports.map((number) => ({ port: { number, name: `tls-${number}`, protocol: 'TLS' }, hosts: ['edition.cnn.com'], tls: { mode: 'PASSTHROUGH' } })) },
  }) as unknown as Resource;

const EGRESS = { istio: 'egressgateway' };

/** IST0162 GatewayPortNotDefinedOnService, for the egress gateway's Service. */
const cases: { name: string; resources: Resource[]; want: string[] }[] = [
  { name: 'every server port is a Service port', resources: [egressService('weft-system', [80, 443]), gateway('g', EGRESS, [443])], want: [] },
  { name: 'a port added after weft up made the Service', resources: [egressService('weft-system', [80, 443]), gateway('g', EGRESS, [443, 8443])], want: ['default/g spec.servers[1].port.number'] },
  { name: 'selected by both labels', resources: [egressService('weft-system', [80, 443]), gateway('g', { istio: 'egressgateway', app: 'istio-egressgateway' }, [9443])], want: ['default/g spec.servers[0].port.number'] },
  { name: 'no Service yet: weft up makes it from the Gateways', resources: [gateway('g', EGRESS, [8443])], want: [] },
  { name: 'a Service of that name in another namespace is not the gateway\'s', resources: [egressService('default', [80]), gateway('g', EGRESS, [8443])], want: [] },
  { name: 'the ingress gateway binds every port its Gateways name', resources: [egressService('weft-system', [80, 443]), gateway('i', { istio: 'ingressgateway' }, [8443])], want: [] },
];

test('IST0162: a Gateway server port that the egress gateway Service does not have', () => {
  for (const c of cases) {
    const found = analyzeResources(c.resources.map((resource) => ({ resource }))).filter((f) => f.code === 'IST0162');
    assert.deepEqual(found.map((f) => `${f.object?.namespace}/${f.object?.name} ${f.field}`), c.want, c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadedResource } from '../config/load.js';
import { gatewayHostPorts, ingressGateway, unprivilegedPortStart } from './ingress-gateway.js';

function gateway(ports: number[]): LoadedResource {
  return {
    resource: {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'gw', namespace: 'default', labels: {}, annotations: {} },
      spec: { selector: { istio: 'ingressgateway' }, servers: ports.map((number) => ({ port: { number, name: `p${number}`, protocol: 'HTTP' }, hosts: ['*'] })) },
    },
  } as unknown as LoadedResource;
}

test('the host ports the gateway binds: the first server port published on the ingress port, the rest as they are', () => {
  const seen: number[][] = [];
  const gw = ingressGateway({
    resources: [gateway([8080, 443]), gateway([8080])],
    namespace: 'weft-system',
    trustDomain: 'cluster.local',
    ingressPort: 18080,
    command: (ports) => (seen.push([...ports]), { command: 'node', args: [] }),
    logFile: '/dev/null',
    proxyEnv: async () => ({}),
    onExit: () => undefined,
    onStart: () => undefined,
  });
  assert.deepEqual({ published: gw.published, hostPorts: gw.hostPorts, seen }, { published: 8080, hostPorts: [18080, 443], seen: [[18080, 443]] });
  assert.deepEqual(gw.entry.listeners, { '8080': '127.0.0.1:18080', '443': '127.0.0.1:443' });
});

test('--publish moves any server port, the first included; Gateways for other gateways are not bound', () => {
  const egress = gateway([9443]);
  (egress.resource.spec as { selector: Record<string, string> }).selector = { istio: 'egressgateway' };
  const { mappings, hostPorts } = gatewayHostPorts([gateway([8080, 443, 15443]), egress], 18080, new Map([[443, 18443], [8080, 28080]]));
  assert.deepEqual([...mappings], [[8080, 28080], [443, 18443], [15443, 15443]]);
  assert.deepEqual(hostPorts, [28080, 18443, 15443]);
});

test('the unprivileged port start comes from the kernel, 1024 when it cannot be read', () => {
  assert.equal(unprivilegedPortStart(() => '80\n'), 80);
  assert.equal(unprivilegedPortStart(() => 'garbage'), 1024);
  assert.equal(unprivilegedPortStart(() => {
    throw new Error('ENOENT');
  }), 1024);
});

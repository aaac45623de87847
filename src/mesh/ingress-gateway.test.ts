import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadedResource } from '../config/load.js';
import { ingressGateway, unprivilegedPortStart } from './ingress-gateway.js';

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
  assert.deepEqual(gw.entry.listeners, { '8080': '127.0.0.1:18080' });
});

test('the unprivileged port start comes from the kernel, 1024 when it cannot be read', () => {
  assert.equal(unprivilegedPortStart(() => '80\n'), 80);
  assert.equal(unprivilegedPortStart(() => 'garbage'), 1024);
  assert.equal(unprivilegedPortStart(() => {
    throw new Error('ENOENT');
  }), 1024);
});

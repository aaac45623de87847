import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EGRESS_GATEWAY_UID, egressGatewayCommand, wantsEgressGateway } from './egress-gateway.js';
import { GATEWAY_UID } from './pod-commands.js';
import { APP_UID_BASE, setprivFlags } from './netns/pod-identity.js';
import { SIDECAR_UID } from './netns/capture-rules.js';

const gateway = (selector?: Record<string, string>) => ({ kind: 'Gateway', spec: { ...(selector ? { selector } : {}), servers: [] } });

test('weft up starts an egress gateway only for a Gateway that selects istio: egressgateway', () => {
  const cases: [string, { kind: string; spec: unknown }[], boolean][] = [
    ['istio: egressgateway', [gateway({ istio: 'egressgateway' })], true],
    ['with the app label too', [gateway({ istio: 'egressgateway', app: 'istio-egressgateway' })], true],
    ['istio: ingressgateway', [gateway({ istio: 'ingressgateway' })], false],
    ['a label the egress gateway lacks', [gateway({ istio: 'egressgateway', zone: 'a' })], false],
    // An empty selector is Istio's "every gateway"; weft's ingress gateway serves it, so it alone starts no egress pod.
    ['no selector', [gateway()], false],
    ['not a Gateway', [{ kind: 'VirtualService', spec: { selector: { istio: 'egressgateway' } } }], false],
    ['one of several', [gateway({ istio: 'ingressgateway' }), gateway({ istio: 'egressgateway' })], true],
  ];
  for (const [name, resources, want] of cases) assert.equal(wantsEgressGateway(resources), want, name);
});

test('the egress gateway runs in its pod under its own uid with no capability', () => {
  assert.ok(![0, SIDECAR_UID as number, GATEWAY_UID].includes(EGRESS_GATEWAY_UID) && EGRESS_GATEWAY_UID < APP_UID_BASE, "not root, the sidecars', the ingress gateway's or an app's");
  const got = egressGatewayCommand({
    netns: 'weft-abc123-weft-system-istio-egressgateway',
    inPod: (p, command, args) => ({ command: '/sbin/ip', args: ['netns', 'exec', p.netns, command, ...args] }),
    drop: { setpriv: '/usr/bin/setpriv', flags: setprivFlags('--clear-groups --inh-caps --bounding-set --no-new-privs --ambient-caps') },
    proxy: { command: '/usr/bin/node', args: ['bin/weft.js', 'proxy'] },
  });
  assert.deepEqual([got.command, ...got.args], [
    '/sbin/ip', 'netns', 'exec', 'weft-abc123-weft-system-istio-egressgateway', '/usr/bin/setpriv',
    '--reuid=1340', '--regid=1340', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs',
    '/usr/bin/node', 'bin/weft.js', 'proxy',
  ]);
});

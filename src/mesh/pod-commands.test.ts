import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../config/resource.js';
import type { WorkloadSecurityContext, WorkloadSpec } from '../config/kinds/workload.js';
import { GATEWAY_UID, appCommand, gatewayCommand, sidecarCommand } from './pod-commands.js';
import type { NetnsPodContext } from './pod-commands.js';
import { APP_UID_BASE, setprivFlags } from './netns/pod-identity.js';
import { SIDECAR_UID } from './netns/capture-rules.js';

const pod: NetnsPodContext = {
  netns: 'weft-abc123-default-web',
  podIP: '198.18.4.10',
  inPod: (p, command, args) => ({ command: '/sbin/ip', args: ['netns', 'exec', p.netns, command, ...args] }),
  drop: { setpriv: '/usr/bin/setpriv', flags: setprivFlags('--clear-groups --inh-caps --bounding-set --no-new-privs --ambient-caps') },
};
const HARDENING = ['--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs'];
const IN_POD = ['netns', 'exec', 'weft-abc123-default-web', '/usr/bin/setpriv'];

function web(securityContext?: WorkloadSecurityContext): Resource<WorkloadSpec> {
  return {
    apiVersion: 'weft.dev/v1alpha1',
    kind: 'Workload',
    metadata: { name: 'web', namespace: 'default', labels: {}, annotations: {} },
    spec: { serviceAccount: 'web', command: ['node', 'web.js'], env: {}, ports: [], ...(securityContext ? { securityContext } : {}) },
  };
}

test('a pod’s processes: in its namespace and never root, unless the Workload writes runAsUser: 0; loopback unchanged', () => {
  const cases: [string, NetnsPodContext | undefined, WorkloadSecurityContext | undefined, string[], RegExp | undefined][] = [
    ['netns, default identity', pod, undefined, [...IN_POD, '--reuid=201034', '--regid=201034', ...HARDENING, 'node', 'web.js'], undefined],
    ['netns, runAsUser and runAsGroup', pod, { runAsUser: 4000, runAsGroup: 4001 }, [...IN_POD, '--reuid=4000', '--regid=4001', ...HARDENING, 'node', 'web.js'], undefined],
    ['netns, root asked for', pod, { runAsUser: 0 }, ['netns', 'exec', 'weft-abc123-default-web', 'node', 'web.js'], /default\/web runs as root .*can undo its own capture/],
    ['loopback', undefined, undefined, ['web.js'], undefined],
    ['loopback with a securityContext', undefined, { runAsUser: 4000 }, ['web.js'], /securityContext applies to netns pods only/],
  ];
  for (const [name, ctx, sc, args, said] of cases) {
    const lines: string[] = [];
    const got = appCommand(ctx, web(sc), (l) => lines.push(l));
    assert.deepEqual([got.command, ...got.args], [ctx ? '/sbin/ip' : 'node', ...args], name);
    if (said === undefined) assert.deepEqual(lines, [], name);
    else assert.ok(lines.length === 1 && said.test(lines[0]!), `${name}: ${lines.join(' | ')}`);
  }
});

test('the sidecar runs as 1337 with the same hardening in a netns pod, as is on loopback', () => {
  const proxy = { command: '/usr/bin/node', args: ['bin/weft.js', 'proxy'] };
  assert.deepEqual(sidecarCommand(pod, proxy).args, [...IN_POD, '--reuid=1337', '--regid=1337', ...HARDENING, '/usr/bin/node', 'bin/weft.js', 'proxy']);
  assert.deepEqual(sidecarCommand(undefined, proxy), proxy);
});

test('the ingress gateway never keeps root: its own uid, CAP_NET_BIND_SERVICE only for a port below 1024', () => {
  const proxy = { command: '/usr/bin/node', args: ['bin/weft.js', 'proxy'] };
  assert.ok(![0, SIDECAR_UID as number].includes(GATEWAY_UID) && GATEWAY_UID < APP_UID_BASE, "not root, not the sidecars', not a pod app's");
  assert.deepEqual(gatewayCommand(pod.drop, false, proxy), {
    command: '/usr/bin/setpriv',
    args: ['--reuid=1339', '--regid=1339', ...HARDENING, '/usr/bin/node', 'bin/weft.js', 'proxy'],
  });
  assert.deepEqual(gatewayCommand(pod.drop, true, proxy).args, [
    '--reuid=1339',
    '--regid=1339',
    '--clear-groups',
    '--inh-caps=-all,+net_bind_service',
    '--bounding-set=-all,+net_bind_service',
    '--no-new-privs',
    '--ambient-caps=-all,+net_bind_service',
    '/usr/bin/node',
    'bin/weft.js',
    'proxy',
  ]);
  // Not root, or no setpriv: nothing to drop (weft up says which).
  assert.deepEqual(gatewayCommand(undefined, true, proxy), proxy);
});

/**
 * `weft up --isolation=netns` killed outright leaves its namespaces, links and host chains behind, and its pods'
 * processes running; the next `weft up` on the same state directory removes them first, serves, and after a clean
 * stop nothing of the mesh is left in the kernel (forwarding back as it was). Root and `ip netns` are required;
 * without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alive, eventually } from './support/mesh-process.js';
import { meshTraces } from './support/netns-traces.js';
import { assertForwardingRestored } from './support/ip-forward.js';
import { netnsMeshFile } from './support/netns-mesh-file.js';

const { skip, digest, forwardingBefore, up } = await netnsMeshFile('pods-netns-crash');

test('after SIGKILL of weft up, the next weft up removes the leftovers first', { skip, timeout: 170_000 }, async () => {
  let mesh = await up();
  const crashed = mesh.mesh();
  await mesh.stop('SIGKILL');
  const left = await meshTraces(digest);
  assert.ok(left.some((l) => l.startsWith('netns ')), 'a crash leaves namespaces behind');
  assert.ok(left.some((l) => l.startsWith(`iptables-save :weft-${digest}-forward`)), `a crash leaves the host chains behind: ${left.join('\n')}`);
  // The control plane runs in the root namespace, outside what the pod network cleans up.
  if (crashed.control.pid) process.kill(crashed.control.pid, 'SIGKILL');
  const podPids = crashed.workloads.flatMap((w) => [w.appPid, w.proxyPid]).filter((p): p is number => typeof p === 'number');
  assert.ok(podPids.some((p) => alive(p)), 'pod processes outlive a crashed weft up');

  mesh = await up();
  await eventually('pod processes of the crashed run to be gone', () => podPids.every((p) => !alive(p)) || undefined, 5000);
  const r = await mesh.weft(['exec', 'sleep', '--', 'curl', '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://httpbin:8000/status/200']);
  assert.equal(r.stdout, '200', r.stderr);
  await mesh.stop('SIGTERM');
  assert.deepEqual(await meshTraces(digest), []);
  await assertForwardingRestored(forwardingBefore);
});

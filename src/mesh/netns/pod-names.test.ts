import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshName, MAX_PODS, podNames } from './pod-names.js';

test('interface names fit IFNAMSIZ and carry the prefix and the mesh digest', () => {
  const n = podNames('/var/lib/weft/a');
  assert.match(n.mesh, /^[0-9a-f]{6}$/);
  assert.equal(n.bridge, `weft0-${n.mesh}`);
  for (const i of [0, 9, 10, MAX_PODS - 1]) {
    const v = n.hostVeth(i);
    assert.ok(v.length <= 15, v);
    assert.ok(v.startsWith(`weft-${n.mesh}-`));
  }
  assert.throws(() => n.hostVeth(MAX_PODS), RangeError);
  assert.throws(() => n.hostVeth(-1), RangeError);
});

test('two state directories never share names; the same one always does', () => {
  const a = podNames('/srv/mesh-a');
  const b = podNames('/srv/mesh-b');
  assert.notEqual(a.mesh, b.mesh);
  assert.notEqual(a.bridge, b.bridge);
  assert.equal(podNames('/srv/mesh-a/').bridge, a.bridge);
  assert.equal(a.netns('default', 'httpbin'), `weft-${a.mesh}-default-httpbin`);
});

test('overlong namespace names are shortened to a digest, still recognisable', () => {
  const n = podNames('/srv/x');
  const long = n.netns('ns'.repeat(60), 'w'.repeat(100));
  assert.ok(long.length < 40);
  assert.ok(isMeshName(n, long));
  assert.notEqual(long, n.netns('ns'.repeat(60), 'v'.repeat(100)));
});

test('only this mesh’s names are its own', () => {
  const n = podNames('/srv/x');
  const other = podNames('/srv/y');
  const cases: [string, boolean][] = [
    [n.bridge, true],
    [n.hostVeth(3), true],
    [n.netns('default', 'sleep'), true],
    [other.bridge, false],
    [other.hostVeth(3), false],
    ['eth0', false],
    ['docker0', false],
    [`weft-${n.mesh}`, false],
  ];
  for (const [name, want] of cases) assert.equal(isMeshName(n, name), want, name);
});

test('a name that could leave its directory is never this mesh’s, whatever its prefix', () => {
  const n = podNames('/srv/x');
  for (const name of [`weft-${n.mesh}-/../../etc`, `weft-${n.mesh}-..`, `weft-${n.mesh}-a/b`, `weft-${n.mesh}-A`]) {
    assert.equal(isMeshName(n, name), false, name);
  }
  assert.ok(isMeshName(n, n.netns('default', 'a..b')), 'a workload name with .. still gets an own-able namespace');
});

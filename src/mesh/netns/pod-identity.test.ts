import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../../errors.js';
import type { WorkloadSecurityContext } from '../../config/kinds/workload.js';
import { SIDECAR_UID } from './capture-rules.js';
import { APP_UID_BASE, appIdentity, podAppIdentity, asIdentity, missingHardening, probePrivilegeDrop, setprivFlags } from './pod-identity.js';
import type { AppIdentity, PrivilegeDrop } from './pod-identity.js';

const HELP_2_38 = `Options:
 --nnp, --no-new-privs       disallow granting new privileges
 --ambient-caps <caps,...>   set ambient capabilities
 --inh-caps <caps,...>       set inheritable capabilities
 --bounding-set <caps>       set capability bounding set
 --reuid <uid|user>          set real and effective uid
 --regid <gid|group>         set real and effective gid
 --clear-groups              clear supplementary groups
`;
/** A setpriv that spells no_new_privs only as --nnp and has no --bounding-set. */
const HELP_OLD = ` --nnp                       disallow granting new privileges
 --inh-caps <caps,...>       set inheritable capabilities
 --reuid <uid|user>          set real and effective uid
 --regid <gid|group>         set real and effective gid
 --clear-groups              clear supplementary groups
`;

describe('the app’s identity in a netns pod', () => {
  test('from its securityContext: never root or the sidecar unless root is written', () => {
    const pod = podAppIdentity('198.18.4.10');
    const cases: [string, WorkloadSecurityContext | undefined, AppIdentity][] = [
      ['no securityContext', undefined, pod],
      ['empty', {}, pod],
      ['runAsNonRoot only', { runAsNonRoot: true }, pod],
      ['runAsUser: its group follows it', { runAsUser: 1000 }, { uid: 1000, gid: 1000 }],
      ['runAsUser and runAsGroup', { runAsUser: 1000, runAsGroup: 2000 }, { uid: 1000, gid: 2000 }],
      ['runAsGroup 0 keeps a non-root uid', { runAsGroup: 0 }, { uid: pod.uid, gid: 0 }],
      ['runAsUser 0 written explicitly', { runAsUser: 0 }, 'root'],
    ];
    for (const [name, sc, want] of cases) assert.deepEqual(appIdentity(sc, pod), want, name);
  });

  test("each pod's default identity is its own: distinct over the whole pod range, never root or the sidecar's", () => {
    const cases: [string, number][] = [
      ['198.18.0.10', APP_UID_BASE + 10],
      ['198.18.4.10', APP_UID_BASE + 4 * 256 + 10],
      ['198.19.4.10', APP_UID_BASE + 65_536 + 4 * 256 + 10],
      ['198.19.255.254', APP_UID_BASE + 131_071 - 1],
    ];
    for (const [ip, uid] of cases) assert.deepEqual(podAppIdentity(ip), { uid, gid: uid }, ip);
    const seen = new Set<number>();
    for (let third = 0; third < 256; third += 17) for (let fourth = 10; fourth < 255; fourth += 31) seen.add(podAppIdentity(`198.19.${third}.${fourth}`).uid);
    for (let third = 0; third < 256; third += 17) for (let fourth = 10; fourth < 255; fourth += 31) seen.add(podAppIdentity(`198.18.${third}.${fourth}`).uid);
    assert.equal(seen.size, 2 * 16 * 8);
    assert.ok([...seen].every((u) => u !== 0 && u !== SIDECAR_UID));
    assert.throws(() => podAppIdentity('not-an-ip'), TypeError);
  });

  test('the wrapper drops to the identity with every hardening flag setpriv knows', () => {
    const drop: PrivilegeDrop = { setpriv: '/usr/bin/setpriv', flags: setprivFlags(HELP_2_38) };
    assert.deepEqual(missingHardening(drop), []);
    assert.deepEqual(asIdentity(drop, { uid: 1338, gid: 1338 }, 'node', ['app.js']), {
      command: '/usr/bin/setpriv',
      args: ['--reuid=1338', '--regid=1338', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', 'node', 'app.js'],
    });
    assert.deepEqual(asIdentity(drop, 'root', 'redis-server', ['--port', '6379']), { command: 'redis-server', args: ['--port', '6379'] });
  });

  test('an older setpriv: the flags it lacks are left out and named', () => {
    const drop: PrivilegeDrop = { setpriv: '/usr/bin/setpriv', flags: setprivFlags(HELP_OLD) };
    assert.deepEqual(missingHardening(drop), ['--bounding-set']);
    assert.deepEqual(asIdentity(drop, { uid: 7, gid: 8 }, 'id', []).args, ['--reuid=7', '--regid=8', '--clear-groups', '--inh-caps=-all', '--nnp', 'id']);
    assert.deepEqual(missingHardening({ setpriv: 'setpriv', flags: setprivFlags(' --reuid <uid>\n --regid <gid>\n') }), [
      '--clear-groups',
      '--inh-caps',
      '--bounding-set',
      '--no-new-privs',
    ]);
  });

  test('probing: no setpriv is refused; the help text decides the flags', async () => {
    await assert.rejects(probePrivilegeDrop(async () => ({ stdout: '', stderr: '' }), () => undefined), (e) => isWeftError(e, 'NETNS_UNAVAILABLE'));
    const drop = await probePrivilegeDrop(async (file, args) => {
      assert.deepEqual([file, ...args], ['/sbin/setpriv', '--help']);
      return { stdout: HELP_2_38, stderr: '' };
    }, (name) => `/sbin/${name}`);
    assert.deepEqual([...drop.flags].sort(), ['--ambient-caps', '--bounding-set', '--clear-groups', '--inh-caps', '--nnp', '--no-new-privs']);
  });

  test('a kept capability is the only one in the bounding, inheritable and ambient sets', () => {
    const drop: PrivilegeDrop = { setpriv: '/usr/bin/setpriv', flags: setprivFlags(HELP_2_38) };
    assert.deepEqual(asIdentity(drop, { uid: 1339, gid: 1339 }, 'node', ['gw.js'], ['net_bind_service']).args, [
      '--reuid=1339',
      '--regid=1339',
      '--clear-groups',
      '--inh-caps=-all,+net_bind_service',
      '--bounding-set=-all,+net_bind_service',
      '--no-new-privs',
      '--ambient-caps=-all,+net_bind_service',
      'node',
      'gw.js',
    ]);
    // A setpriv without --ambient-caps cannot keep it past the uid switch: refused rather than silently dropped.
    const old: PrivilegeDrop = { setpriv: '/usr/bin/setpriv', flags: setprivFlags(HELP_OLD) };
    assert.throws(() => asIdentity(old, { uid: 1339, gid: 1339 }, 'node', [], ['net_bind_service']), (e) => isWeftError(e, 'PRIVILEGE_DROP_UNAVAILABLE'));
    assert.deepEqual(asIdentity(old, { uid: 1339, gid: 1339 }, 'id', []).args, ['--reuid=1339', '--regid=1339', '--clear-groups', '--inh-caps=-all', '--nnp', 'id']);
  });
});

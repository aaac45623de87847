import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../../errors.js';
import type { WorkloadSecurityContext } from '../../config/kinds/workload.js';
import { SIDECAR_UID } from './capture-rules.js';
import { APP_GID, APP_UID, appIdentity, asIdentity, missingHardening, probePrivilegeDrop, setprivFlags } from './pod-identity.js';
import type { AppIdentity, PrivilegeDrop } from './pod-identity.js';

const HELP_2_38 = `Options:
 --nnp, --no-new-privs       disallow granting new privileges
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
    assert.notEqual(APP_UID, SIDECAR_UID);
    assert.notEqual(APP_UID, 0);
    const cases: [string, WorkloadSecurityContext | undefined, AppIdentity][] = [
      ['no securityContext', undefined, { uid: APP_UID, gid: APP_GID }],
      ['empty', {}, { uid: APP_UID, gid: APP_GID }],
      ['runAsNonRoot only', { runAsNonRoot: true }, { uid: APP_UID, gid: APP_GID }],
      ['runAsUser', { runAsUser: 1000 }, { uid: 1000, gid: APP_GID }],
      ['runAsUser and runAsGroup', { runAsUser: 1000, runAsGroup: 2000 }, { uid: 1000, gid: 2000 }],
      ['runAsGroup 0 keeps a non-root uid', { runAsGroup: 0 }, { uid: APP_UID, gid: 0 }],
      ['runAsUser 0 written explicitly', { runAsUser: 0 }, 'root'],
    ];
    for (const [name, sc, want] of cases) assert.deepEqual(appIdentity(sc), want, name);
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
    assert.deepEqual([...drop.flags].sort(), ['--bounding-set', '--clear-groups', '--inh-caps', '--nnp', '--no-new-privs']);
  });
});

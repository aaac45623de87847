/**
 * The mesh-admin credential the control plane keeps in its state directory: made on first start with its HMAC key,
 * kept across restarts, and made again when the one on file is revoked. The key never enters the store.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runControlPlane } from '../src/control/control-plane.js';
import type { RunningControlPlane } from '../src/control/control-plane.js';
import { meshConfigWithDefaults } from '../src/config/kinds/mesh-config.js';
import { ControlClient } from '../src/cli/client.js';
import { stateDirLayout } from '../src/mesh/state-dir.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cp-admin-'));
const layout = stateDirLayout(dir);
const running: RunningControlPlane[] = [];
after(async () => {
  for (const cp of running) await cp.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<{ cp: RunningControlPlane; secret: string; client: ControlClient }> {
  const cp = await runControlPlane({ stateDir: dir, listen: '127.0.0.1:0', bootstrap: meshConfigWithDefaults(undefined) });
  running.push(cp);
  const secret = fs.readFileSync(layout.adminCredentialFile, 'utf8').trim();
  const client = new ControlClient({ address: cp.address, credential: secret, caPem: fs.readFileSync(layout.trustBundleFile, 'utf8') });
  return { cp, secret, client };
}

async function stop(cp: RunningControlPlane, client: ControlClient): Promise<void> {
  await client.close();
  await cp.stop();
  running.splice(running.indexOf(cp), 1);
}

test('the admin credential is mesh-admin, survives a restart, and is reissued once revoked', { timeout: 60_000 }, async () => {
  const first = await start();
  assert.deepEqual(await first.client.canI({ verb: 'create', kind: 'MeshConfig', namespace: 'weft-system' }), {
    principal: { name: 'admin', bindings: [{ role: 'mesh-admin', namespace: '*' }] },
    allowed: true,
    role: 'mesh-admin',
  });
  const key = fs.readFileSync(layout.credentialKeyFile);
  assert.equal(key.length, 32);
  assert.equal(fs.statSync(layout.credentialKeyFile).mode & 0o777, 0o600);
  assert.equal(fs.statSync(layout.adminCredentialFile).mode & 0o777, 0o600);
  await stop(first.cp, first.client);

  const second = await start();
  assert.equal(second.secret, first.secret);
  assert.deepEqual(fs.readFileSync(layout.credentialKeyFile), key);
  assert.equal((await second.client.revokeCredential('admin')).name, 'admin');
  await assert.rejects(second.client.credentials(), /the credential admin was revoked at/);
  await stop(second.cp, second.client);

  const third = await start();
  assert.notEqual(third.secret, first.secret);
  assert.deepEqual((await third.client.credentials()).map((c) => [c.name, c.revokedAt]), [['admin', undefined]]);
  for (const file of [layout.storeFile, `${layout.storeFile}-wal`]) {
    if (fs.existsSync(file)) assert.equal(fs.readFileSync(file).includes(key), false, `${file} holds the HMAC key`);
  }
  await stop(third.cp, third.client);
});

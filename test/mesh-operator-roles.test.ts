/**
 * Operator roles through the CLI on a real `weft up` mesh (loopback): the mesh-admin credential `weft up` writes
 * issues an editor credential for one namespace; it acts within its role through `--credential-file`, `weft auth
 * can-i` agrees with what the API does, and once revoked it is refused. Each refusal is one entry of the audit
 * chain, which an auditor reads. The secrets never reach the store file. (A viewer credential, and the audit chain
 * refused to it: mesh-operator-viewer.test.ts.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { HTTPBIN_ROUTE, assertStoreHoldsNoSecret, httpbinMeshForFile, refusalsReadByAuditor } from './support/operator-cli.js';

const { mesh, weft } = httpbinMeshForFile();

const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: default }
spec: {}
`;

test('weft auth: issue, act within the role, can-i, list and revoke on a running mesh', { timeout: 120_000 }, async () => {
  const m = mesh();
  assert.deepEqual(await weft(['auth', 'can-i', 'create', 'authorizationpolicy', '-n', 'weft-system']), { code: 0, stdout: 'yes\n', stderr: '' });

  const issued = await weft(['auth', 'create-credential', '--role', 'editor', '--namespace', 'default', '--expires', '1h', '--name', 'ci']);
  assert.equal(issued.code, 0, issued.stderr);
  assert.match(issued.stdout, /^weft_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
  assert.match(issued.stderr, /^credential "ci" created: editor\(default\), expires \S+Z; the secret above is shown only once\n$/);
  const ciFile = path.join(m.stateDir, 'ci.credential');
  fs.writeFileSync(ciFile, issued.stdout, { mode: 0o600 });
  const asCi = (args: string[], input?: string) => weft(['--credential-file', ciFile, ...args], {}, input);

  assert.deepEqual(await asCi(['apply', '-f', '-'], HTTPBIN_ROUTE), {
    code: 0,
    stdout: 'virtualservice.networking.istio.io/httpbin created\n',
    stderr: '',
  });
  assert.deepEqual(await asCi(['apply', '-f', '-'], policy), {
    code: 1,
    stdout: '',
    stderr: 'Error from server (Forbidden): ci (editor in default) lacks permission to create AuthorizationPolicy in namespace default\n',
  });
  assert.deepEqual(await asCi(['auth', 'can-i', 'create', 'ap']), {
    code: 1,
    stdout: 'no - missing permission: create AuthorizationPolicy in namespace default\n',
    stderr: '',
  });
  assert.deepEqual(await asCi(['auth', 'can-i', 'update', 'vs']), { code: 0, stdout: 'yes\n', stderr: '' });
  assert.deepEqual((await asCi(['get', 'vs', '-n', 'payments'])).stderr, 'Error from server (Forbidden): ci (editor in default) lacks permission to list VirtualService in namespace payments\n');
  // The flag wins over the environment (the mesh-admin's credential there).
  const admin = fs.readFileSync(path.join(m.stateDir, 'admin.credential'), 'utf8').trim();
  assert.equal((await weft(['--credential-file', ciFile, 'auth', 'can-i', 'create', 'ap'], { WEFT_CREDENTIAL: admin })).stdout, 'no - missing permission: create AuthorizationPolicy in namespace default\n');

  const listed = await weft(['auth', 'list', '-o', 'json']);
  assert.deepEqual(
    JSON.parse(listed.stdout).credentials.map((c: { name: string; bindings: unknown }) => [c.name, c.bindings]),
    [
      ['admin', [{ role: 'mesh-admin', namespace: '*' }]],
      ['ci', [{ role: 'editor', namespace: 'default' }]],
    ],
  );
  const table = (await weft(['auth', 'list'])).stdout.split('\n');
  assert.match(table[0] ?? '', /^NAME +ROLES +CREATED +EXPIRES +STATUS$/);
  assert.match(table[2] ?? '', /^ci +editor\(default\) +\S+Z +\S+Z +active$/);

  assert.deepEqual(await weft(['auth', 'revoke', 'ci']), { code: 0, stdout: 'credential "ci" revoked\n', stderr: '' });
  const refused = await asCi(['get', 'vs']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^Error from server \(Unauthorized\): the credential ci was revoked at \S+Z\n$/);
  assert.match((await weft(['auth', 'list'])).stdout, /\nci +editor\(default\) +\S+Z +\S+Z +revoked\n/);

  // Every refusal above is one entry of the audit chain, naming who and what.
  assert.deepEqual(await refusalsReadByAuditor(weft), [
    ['ci', 403, 'create', 'AuthorizationPolicy', 'default'],
    ['ci', 403, 'list', 'VirtualService', 'payments'],
    [null, 401, null, null, null],
  ]);
  assertStoreHoldsNoSecret(m.stateDir, [issued.stdout.trim(), admin]);
});

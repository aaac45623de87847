/**
 * Operator roles through the CLI on a real `weft up` mesh (loopback): the mesh-admin credential `weft up` writes
 * issues an editor credential for one namespace and a viewer credential; each acts within its role through
 * `--credential-file` and WEFT_CREDENTIAL, `weft auth can-i` agrees with what the API does, and a revoked
 * credential is refused. Each refusal is one entry of the audit chain, which an auditor reads and a viewer may not.
 * The secrets never reach the store file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AuditEntry } from '../src/control/store/audit-chain.js';
import { stateDirLayout } from '../src/mesh/state-dir.js';
import { REPO_ROOT, WEFT_BIN, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

let mesh: MeshRun | undefined;

before(async () => {
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
});
after(async () => {
  if (mesh === undefined) return;
  await mesh.stop();
  fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

/** `weft` against the test's mesh, with extra environment (WEFT_CREDENTIAL) when given. */
function weft(args: string[], env: Record<string, string> = {}, input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const m = mesh as MeshRun;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WEFT_BIN, '--state-dir', m.stateDir, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, WEFT_CREDENTIAL: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-all, namespace: default }
spec: {}
`;
const route = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin]
  http: [{ route: [{ destination: { host: httpbin } }] }]
`;

test('weft auth: issue, act within the role, can-i, list and revoke on a running mesh', { timeout: 120_000 }, async () => {
  const m = mesh as MeshRun;
  assert.deepEqual(await weft(['auth', 'can-i', 'create', 'authorizationpolicy', '-n', 'weft-system']), { code: 0, stdout: 'yes\n', stderr: '' });

  const issued = await weft(['auth', 'create-credential', '--role', 'editor', '--namespace', 'default', '--expires', '1h', '--name', 'ci']);
  assert.equal(issued.code, 0, issued.stderr);
  assert.match(issued.stdout, /^weft_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
  assert.match(issued.stderr, /^credential "ci" created: editor\(default\), expires \S+Z; the secret above is shown only once\n$/);
  const ciFile = path.join(m.stateDir, 'ci.credential');
  fs.writeFileSync(ciFile, issued.stdout, { mode: 0o600 });
  const asCi = (args: string[], input?: string) => weft(['--credential-file', ciFile, ...args], {}, input);

  assert.deepEqual(await asCi(['apply', '-f', '-'], route), {
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

  const viewer = (await weft(['auth', 'create-credential', '--role', 'viewer', '--name', 'dash'])).stdout.trim();
  const asViewer = (args: string[]) => weft(args, { WEFT_CREDENTIAL: viewer });
  const got = await asViewer(['get', 'vs', 'httpbin', '-o', 'json']);
  assert.equal(got.code, 0, got.stderr);
  assert.equal(JSON.parse(got.stdout).metadata.name, 'httpbin');
  assert.deepEqual(await asViewer(['delete', 'vs', 'httpbin']), {
    code: 1,
    stdout: '',
    stderr: 'Error from server (Forbidden): dash (viewer in all namespaces) lacks permission to delete VirtualService in namespace default\n',
  });
  assert.equal((await asViewer(['auth', 'list'])).stderr, 'Error from server (Forbidden): dash (viewer in all namespaces) lacks permission to list Credential in all namespaces\n');
  // The flag wins over the environment.
  assert.equal((await weft(['--credential-file', ciFile, 'auth', 'can-i', 'create', 'vs'], { WEFT_CREDENTIAL: viewer })).stdout, 'yes\n');

  const listed = await weft(['auth', 'list', '-o', 'json']);
  assert.deepEqual(
    JSON.parse(listed.stdout).credentials.map((c: { name: string; bindings: unknown }) => [c.name, c.bindings]),
    [
      ['admin', [{ role: 'mesh-admin', namespace: '*' }]],
      ['ci', [{ role: 'editor', namespace: 'default' }]],
      ['dash', [{ role: 'viewer', namespace: '*' }]],
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

  // Every refusal above is one entry of the audit chain, naming who and what; only an auditor or mesh-admin reads it.
  assert.equal(
    (await asViewer(['audit', 'log', '--kind', 'refusal'])).stderr,
    'Error from server (Forbidden): dash (viewer in all namespaces) lacks permission to list AuditRecord in all namespaces\n',
  );
  const auditor = (await weft(['auth', 'create-credential', '--role', 'auditor', '--name', 'audit'])).stdout.trim();
  const read = await weft(['audit', 'log', '--kind', 'refusal', '-o', 'json'], { WEFT_CREDENTIAL: auditor });
  assert.equal(read.code, 0, read.stderr);
  const refusals = (JSON.parse(read.stdout) as AuditEntry[]).map((e) =>
    e.type === 'refusal' ? [e.actor?.name ?? null, e.status, e.verb ?? null, e.key?.kind ?? null, e.key?.namespace ?? null] : [],
  );
  assert.deepEqual(refusals, [
    ['ci', 403, 'create', 'AuthorizationPolicy', 'default'],
    ['ci', 403, 'list', 'VirtualService', 'payments'],
    ['dash', 403, 'delete', 'VirtualService', 'default'],
    ['dash', 403, 'list', 'Credential', '*'],
    [null, 401, null, null, null],
    ['dash', 403, 'list', 'AuditRecord', '*'],
  ]);

  const layout = stateDirLayout(m.stateDir);
  for (const file of [layout.storeFile, `${layout.storeFile}-wal`]) {
    const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    for (const secret of [issued.stdout.trim(), viewer, fs.readFileSync(layout.adminCredentialFile, 'utf8').trim()]) {
      assert.equal(bytes.includes(Buffer.from(secret.slice('weft_0123456789abcdef_'.length))), false, `${file} holds a secret`);
      assert.equal(bytes.includes(createHash('sha256').update(secret).digest()), false, `${file} holds a plain hash`);
    }
  }
});

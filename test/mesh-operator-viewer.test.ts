/**
 * A viewer credential through the CLI on a real `weft up` mesh (loopback), passed in WEFT_CREDENTIAL: it reads
 * resources in every namespace and changes none, may not list credentials or read the audit chain, and each of
 * those refusals is an entry of that chain, which an auditor reads. The secret never reaches the store file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { assertStoreHoldsNoSecret, refusalsReadByAuditor, weftOn } from './support/operator-cli.js';

let mesh: MeshRun | undefined;

before(async () => {
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
});
after(async () => {
  if (mesh === undefined) return;
  await mesh.stop();
  fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

const weft = weftOn(() => mesh as MeshRun);

const route = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin]
  http: [{ route: [{ destination: { host: httpbin } }] }]
`;

test('weft auth: a viewer reads and changes nothing; its refusals are audited, and it may not read them', { timeout: 120_000 }, async () => {
  const m = mesh as MeshRun;
  assert.equal((await weft(['apply', '-f', '-'], {}, route)).code, 0);
  const issued = await weft(['auth', 'create-credential', '--role', 'viewer', '--name', 'dash']);
  assert.equal(issued.code, 0, issued.stderr);
  const viewer = issued.stdout.trim();
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
  assert.equal(
    (await asViewer(['audit', 'log', '--kind', 'refusal'])).stderr,
    'Error from server (Forbidden): dash (viewer in all namespaces) lacks permission to list AuditRecord in all namespaces\n',
  );

  const listed = await weft(['auth', 'list', '-o', 'json']);
  assert.deepEqual(
    JSON.parse(listed.stdout).credentials.map((c: { name: string; bindings: unknown }) => [c.name, c.bindings]),
    [
      ['admin', [{ role: 'mesh-admin', namespace: '*' }]],
      ['dash', [{ role: 'viewer', namespace: '*' }]],
    ],
  );
  assert.deepEqual(await refusalsReadByAuditor(weft), [
    ['dash', 403, 'delete', 'VirtualService', 'default'],
    ['dash', 403, 'list', 'Credential', '*'],
    ['dash', 403, 'list', 'AuditRecord', '*'],
  ]);
  assertStoreHoldsNoSecret(m.stateDir, [viewer]);
});

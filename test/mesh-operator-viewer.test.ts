/**
 * A viewer credential through the CLI on a real `weft up` mesh (loopback), passed in WEFT_CREDENTIAL: it reads
 * resources in every namespace and changes none, may not list credentials or read the audit chain, and each of
 * those refusals is an entry of that chain, which an auditor reads. The secret never reaches the store file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTTPBIN_ROUTE, assertStoreHoldsNoSecret, httpbinMeshForFile, refusalsReadByAuditor } from './support/operator-cli.js';

const { mesh, weft } = httpbinMeshForFile();


test('weft auth: a viewer reads and changes nothing; its refusals are audited, and it may not read them', { timeout: 120_000 }, async () => {
  const m = mesh();
  assert.equal((await weft(['apply', '-f', '-'], {}, HTTPBIN_ROUTE)).code, 0);
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

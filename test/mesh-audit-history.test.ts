/**
 * History on a real `weft up` mesh (loopback), through the CLI as a user types it: `get --at` shows an object as it
 * was before a later change, `history` says who changed it and when, `diff` shows what changed, `rollback` puts it
 * back as an ordinary audited change. The audit chain of the same changes: test/mesh-audit-chain.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { route, routeMesh } from './support/route-history.js';

test('history, get --at, diff and rollback on a running mesh', { timeout: 90_000 }, async () => {
  const { weft, ok, getRoute, credentialId } = await routeMesh(['--history-retention', '720h']);

  assert.equal(await ok(['apply', '-f', '-'], route('5s')), 'virtualservice.networking.istio.io/httpbin-route created\n');
  const r1 = (await getRoute()).metadata.resourceVersion;
  const between = new Date().toISOString();
  assert.equal(await ok(['apply', '-f', '-'], route('7s')), 'virtualservice.networking.istio.io/httpbin-route configured\n');
  const r2 = (await getRoute()).metadata.resourceVersion;
  assert.ok(Number(r2) > Number(r1));

  // get --at: by time and by revision, the object as it was before the second apply.
  for (const at of [between, r1]) {
    const then = await getRoute('--at', at);
    assert.deepEqual([then.metadata.resourceVersion, then.spec.http[0]?.timeout], [r1, '5s'], `--at ${at}`);
  }
  assert.equal((await getRoute()).spec.http[0]?.timeout, '7s');
  assert.deepEqual(await weft(['get', 'vs', '--at', '0']), { code: 0, stdout: '', stderr: 'No resources found in default namespace.\n' });

  assert.equal(await ok(['diff', 'vs', 'httpbin-route', r1, r2]), '~ /spec/http/0/timeout: "5s" -> "7s"\n');
  assert.equal(
    await ok(['rollback', 'vs', 'httpbin-route', '--to', r1]),
    `virtualservice.networking.istio.io/httpbin-route rolled back to revision ${r1} (configured)\n`,
  );
  const r3 = (await getRoute()).metadata.resourceVersion;
  assert.equal((await getRoute()).spec.http[0]?.timeout, '5s');
  assert.equal(await ok(['diff', 'vs', 'httpbin-route', r1, r3]), '', 'the rollback restored revision r1 exactly');

  const rows = (await ok(['history', 'vs', 'httpbin-route'])).trim().split('\n').map((l) => l.split(/\s+/));
  assert.deepEqual(rows[0], ['REVISION', 'TIME', 'ACTOR', 'CREDENTIAL', 'VERB', 'SHA256']);
  assert.deepEqual(
    rows.slice(1).map((r) => [r[0], r[2], r[3], r[4]]),
    [
      [r1, 'admin', credentialId, 'create'],
      [r2, 'admin', credentialId, 'update'],
      [r3, 'admin', credentialId, 'update'],
    ],
  );

});

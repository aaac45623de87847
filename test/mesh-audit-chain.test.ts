/**
 * The audit chain on a real `weft up` mesh (loopback), through the CLI as a user types it: the chain holds every
 * change, a refused call and each proxy's ACK of the config it was sent; `audit verify` passes on the live chain and
 * names an entry edited in an export; heads are signed at the interval `weft up --audit-sign-interval` set, and
 * stopping the control plane leaves a head signed by the mesh's audit key. History of the same kind of changes:
 * test/mesh-audit-history.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ControlClient } from '../src/cli/client.js';
import { headSignatureChecker, readHeadFile } from '../src/control/audit-head.js';
import type { AuditEntry } from '../src/control/store/audit-chain.js';
import { auditVerifierKey } from '../src/identity/audit-key.js';
import { eventually } from './support/mesh-process.js';
import { route, routeMesh } from './support/route-history.js';

test('the audit chain on a running mesh: changes, a refusal, ACKs, signed heads, verify and a tampered export', { timeout: 90_000 }, async () => {
  // `weft up` hands the setting to the control plane: heads are signed every second instead of every minute.
  const { run, weft, ok, getRoute, layout, credentialId } = await routeMesh(['--audit-sign-interval', '1s']);

  assert.equal(await ok(['apply', '-f', '-'], route('5s')), 'virtualservice.networking.istio.io/httpbin-route created\n');
  const r1 = (await getRoute()).metadata.resourceVersion;
  assert.equal(await ok(['apply', '-f', '-'], route('7s')), 'virtualservice.networking.istio.io/httpbin-route configured\n');
  const r2 = (await getRoute()).metadata.resourceVersion;

  // A refused call is in the chain.
  const mesh0 = run.mesh();
  const intruder = new ControlClient({
    address: mesh0.control.address,
    credential: `weft_0000000000000000_${'A'.repeat(43)}`,
    caPem: fs.readFileSync(layout.trustBundleFile, 'utf8'),
  });
  try {
    await assert.rejects(intruder.list(), (err: Error & { code?: string }) => err.code === 'UNAUTHENTICATED');
  } finally {
    await intruder.close();
  }
  const log = async (kind: string): Promise<AuditEntry[]> => JSON.parse(await ok(['audit', 'log', '--kind', kind, '-o', 'json'])) as AuditEntry[];
  const refusals = await log('refusal');
  assert.deepEqual(
    refusals.map((e) => (e.type === 'refusal' ? [e.actor, e.method, e.path, e.status, e.code] : [])),
    [[null, 'GET', '/api/v1/resources', 401, 'UNAUTHENTICATED']],
  );
  const changes = await log('VirtualService');
  assert.deepEqual(
    changes.map((e) => (e.type === 'change' ? [e.revision, e.verb, e.actor.name, e.actor.credentialId] : [])),
    [
      [Number(r1), 'create', 'admin', credentialId],
      [Number(r2), 'update', 'admin', credentialId],
    ],
  );

  // What each proxy enforced: the version it ACKed, with the hash of the bytes it was sent.
  const acked = await eventually('the httpbin sidecar\'s current version ACKed in the audit log', async () => {
    const status = JSON.parse(await ok(['status', '-o', 'json'])) as { proxies: { id: string; ackedVersion: string | null }[] };
    const enforced = status.proxies.find((p) => p.id === 'sidecar/default/httpbin')?.ackedVersion;
    const pushes = await log('push');
    const sent = new Map(pushes.flatMap((e) => (e.type === 'push' && e.outcome === 'sent' ? [[`${e.proxy} ${e.configVersion}`, e.configSha256]] : [])));
    const ack = pushes.findLast((e) => e.type === 'push' && e.outcome === 'ack' && e.proxy === 'sidecar/default/httpbin');
    if (ack?.type !== 'push' || ack.configVersion !== enforced) return undefined;
    return sent.get(`${ack.proxy} ${ack.configVersion}`) === ack.configSha256 ? ack : undefined;
  });
  assert.match(acked.type === 'push' ? (acked.configSha256 ?? '') : '', /^[0-9a-f]{64}$/);

  // A head signed while the mesh runs, long before the default minute: --audit-sign-interval reached the control plane.
  await eventually('a head signed while the mesh runs', async () => ((await log('head')).length > 0 ? true : undefined));
  const verified = await weft(['audit', 'verify']);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /^audit chain valid: \d+ entries, last entry \d+ \([0-9a-f]{64}\), signed head covers entry \d+ \(signed \S+Z\)\n$/);

  // An export with one change entry edited is refused, naming that entry.
  const exported = (await ok(['audit', 'export'])).trim().split('\n');
  const index = exported.findIndex((l) => l.includes('"verb":"update"') && l.includes('httpbin-route'));
  const seq = (JSON.parse(exported[index] ?? '{}') as AuditEntry).seq;
  const file = path.join(run.stateDir, 'export.jsonl');
  fs.writeFileSync(file, `${exported.map((l, i) => (i === index ? l.replace('"7s"', '"9s"') : l)).join('\n')}\n`);
  assert.deepEqual(await weft(['audit', 'verify', '--file', file]), {
    code: 1,
    stdout: `audit chain NOT valid: edited at entry ${seq} (record ${index + 1}): entry ${seq} was edited: its content does not match its hash\n`,
    stderr: '',
  });

  // Stopping the control plane signs the head with the mesh's audit key, outside the store.
  await run.stop();
  const head = readHeadFile(layout.auditHeadFile);
  assert.ok(head !== undefined, 'a signed head is written at stop');
  const checker = headSignatureChecker(auditVerifierKey(fs.readFileSync(layout.auditPublicKeyFile, 'utf8')));
  assert.equal(checker(head), true);
  // A head covers the entries before it; the chain may end in a head already (nothing new since), then none is added.
  const lastRecorded = Math.max(...exported.map((l) => JSON.parse(l) as AuditEntry).filter((e) => e.type !== 'head').map((e) => e.seq));
  assert.ok(head.seq >= lastRecorded, `the head covers the exported chain (${head.seq} >= ${lastRecorded})`);
});

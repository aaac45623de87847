/**
 * History and the audit chain on a real `weft up` mesh (loopback), through the CLI as a user types it: `get --at`
 * shows an object as it was before a later change, `history` says who changed it and when, `diff` shows what
 * changed, `rollback` puts it back as an ordinary audited change; the chain holds every change, a refused
 * call and each proxy's ACK of the config it was sent; `audit verify` passes on the live chain and names an
 * entry edited in an export; heads are signed at the interval `weft up --audit-sign-interval` set, and stopping
 * the control plane leaves a head signed by the mesh's audit key.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { ControlClient } from '../src/cli/client.js';
import { headSignatureChecker, readHeadFile } from '../src/control/audit-head.js';
import type { AuditEntry } from '../src/control/store/audit-chain.js';
import { auditVerifierKey } from '../src/identity/audit-key.js';
import { stateDirLayout } from '../src/mesh/state-dir.js';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

let mesh: MeshRun | undefined;
after(async () => {
  if (mesh === undefined) return;
  await mesh.stop();
  fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

const route = (timeout: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin-route
spec:
  hosts: [httpbin]
  http:
  - timeout: ${timeout}
    route:
    - destination:
        host: httpbin
`;

test('history, get --at, diff, rollback and the audit chain on a running mesh', { timeout: 90_000 }, async () => {
  // `weft up` hands both settings to the control plane: heads are signed every second instead of every minute.
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none', extraArgs: ['--audit-sign-interval', '1s', '--history-retention', '720h'] });
  const run = mesh;
  const weft = (args: string[], input?: string) => run.weft(args, input);
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await weft(args, input);
    assert.deepEqual([r.code, r.stderr], [0, ''], `weft ${args.join(' ')}`);
    return r.stdout;
  };
  const getRoute = async (...extra: string[]) =>
    JSON.parse(await ok(['get', 'vs', 'httpbin-route', '-o', 'json', ...extra])) as {
      metadata: { resourceVersion: string };
      spec: { http: { timeout: string }[] };
    };
  const layout = stateDirLayout(run.stateDir);
  const credentialId = /^weft_([0-9a-f]{16})_/.exec(fs.readFileSync(layout.adminCredentialFile, 'utf8'))?.[1];
  assert.ok(credentialId);

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
      [Number(r3), 'update', 'admin', credentialId],
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

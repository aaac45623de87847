/**
 * "What did proxy X enforce at time T" on a real `weft up` mesh (loopback): after two policy changes, `weft audit
 * enforced` for httpbin's sidecar at a time between them compiles again, from history, the config whose SHA-256
 * the chain's ACK entry recorded: it has the first policy and not the second.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import type { EnforcedConfig } from '../src/control/enforced-config.js';
import type { AuditEntry } from '../src/control/store/audit-chain.js';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

let mesh: MeshRun | undefined;
after(async () => {
  if (mesh === undefined) return;
  await mesh.stop();
  fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

const PROXY = 'sidecar/default/httpbin';

const policy = (name: string, path: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
spec:
  selector:
    matchLabels:
      app: httpbin
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["${path}"]
`;

test('audit enforced reproduces the config a sidecar had ACKed at a time between two changes', { timeout: 60_000 }, async () => {
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  const run = mesh;
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await run.weft(args, input);
    assert.deepEqual([r.code, r.stderr], [0, ''], `weft ${args.join(' ')}`);
    return r.stdout;
  };
  const revision = async (name: string): Promise<number> =>
    Number((JSON.parse(await ok(['get', 'authorizationpolicy', name, '-o', 'json'])) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
  /** The sidecar's ACK of a config sent from revision `rev` or later. */
  const ackedFrom = (rev: number): Promise<AuditEntry> =>
    eventually(`an ACK by ${PROXY} of a config compiled at revision ${rev} or later`, async () => {
      const pushes = JSON.parse(await ok(['audit', 'log', '--kind', 'push', '-o', 'json'])) as AuditEntry[];
      const sent = pushes.findLast((e) => e.type === 'push' && e.proxy === PROXY && e.outcome === 'sent' && (e.inputs?.revision ?? -1) >= rev);
      if (sent?.type !== 'push') return undefined;
      return pushes.find((e) => e.type === 'push' && e.proxy === PROXY && e.outcome === 'ack' && e.seq > sent.seq && e.configSha256 === sent.configSha256);
    });

  await ok(['apply', '-f', '-'], policy('deny-first', '/first'));
  const firstAck = await ackedFrom(await revision('deny-first'));
  const between = new Date().toISOString();
  await ok(['apply', '-f', '-'], policy('deny-second', '/second'));
  const secondRevision = await revision('deny-second');
  const secondAck = await ackedFrom(secondRevision);

  const policies = (e: EnforcedConfig): string[] => e.config.security.authorizationPolicies.map((p) => p.name).sort();
  const then = JSON.parse(await ok(['audit', 'enforced', PROXY, '--at', between, '-o', 'json'])) as EnforcedConfig;
  assert.equal(firstAck.type, 'push');
  assert.deepEqual(
    [then.reproduced, then.ack.seq, then.ack.configSha256, then.reproducedSha256],
    [true, firstAck.seq, firstAck.type === 'push' ? firstAck.configSha256 : '', then.ack.configSha256],
  );
  assert.deepEqual(policies(then), ['deny-first']);

  // By revision: the revision before the second change is the same moment; the second change's revision is not.
  const byRevision = JSON.parse(await ok(['audit', 'enforced', PROXY, '--at', String(secondRevision - 1), '-o', 'json'])) as EnforcedConfig;
  assert.deepEqual([byRevision.ack.seq, byRevision.reproduced], [firstAck.seq, true]);
  const now = JSON.parse(await ok(['audit', 'enforced', PROXY, '--at', new Date().toISOString(), '-o', 'json'])) as EnforcedConfig;
  assert.deepEqual([now.ack.seq, now.reproduced, policies(now)], [secondAck.seq, true, ['deny-first', 'deny-second']]);

  const text = await ok(['audit', 'enforced', PROXY, '--at', between]);
  assert.match(text, /\nreproduced: hash matches \(sha256 [0-9a-f]{64}\)\n$/);
  assert.deepEqual(await run.weft(['audit', 'enforced', PROXY, '--at', '1970-01-01T00:00:00Z']), {
    code: 1,
    stdout: '',
    stderr: `Error from server (NotFound): the audit chain has no ACK by ${PROXY} at or before 1970-01-01T00:00:00.000Z\n`,
  });
});

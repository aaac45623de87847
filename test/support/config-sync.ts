/**
 * Test support: change the mesh's config with the CLI and wait, bounded, until the named proxies have acknowledged
 * a config other than the one they had, so what a test checks next is judged against the new config rather than
 * racing its push.
 */
import assert from 'node:assert/strict';
import type { ProxyStatus } from '../../src/control/push-server.js';
import { eventually } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';

export async function proxyStatuses(mesh: MeshRun): Promise<ProxyStatus[]> {
  const r = await mesh.weft(['status', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { proxies: ProxyStatus[] }).proxies;
}

/** `weft apply|delete -f FILE` (or YAML on stdin), then wait until every proxy named in `changed` acked a new version. */
export async function applyAndSync(
  mesh: MeshRun,
  verb: 'apply' | 'delete',
  source: { file: string } | { yaml: string },
  changed: readonly string[],
  timeoutMs = 15_000,
): Promise<void> {
  const before = new Map((await proxyStatuses(mesh)).map((p) => [p.name, p.ackedVersion]));
  const r = 'file' in source ? await mesh.weft([verb, '-f', source.file]) : await mesh.weft([verb, '-f', '-'], source.yaml);
  assert.equal(r.code, 0, `weft ${verb}: ${r.stderr}`);
  await eventually(
    `the new config to reach the sidecars of ${changed.join(', ')}`,
    async () => {
      const now = await proxyStatuses(mesh);
      return changed.every((name) => {
        const p = now.find((x) => x.name === name);
        return p !== undefined && p.ackedVersion !== null && p.ackedVersion === p.sentVersion && p.ackedVersion !== before.get(name);
      });
    },
    timeoutMs,
  );
}

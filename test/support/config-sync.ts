/**
 * Test support: change the mesh's config with the CLI and wait, bounded, until the named proxies have acknowledged
 * a config other than the one they had, or until the proxies run a config that has what the test needs, so what a
 * test checks next is judged against the new config rather than racing its push (`weft apply` returns once the
 * store holds the change; the debounced push and each proxy's ACK come after, as with Istio).
 */
import assert from 'node:assert/strict';
import { ControlClient } from '../../src/cli/client.js';
import type { ProxyStatus } from '../../src/control/push-server.js';
import type { ProxyConfig } from '../../src/proxyconfig/types.js';
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
  const before = await settledVersions(mesh, changed, timeoutMs);
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

/**
 * The versions the named proxies run once no push to them is in flight: each has ACKed what it was sent, twice in a
 * row across more than the control plane's push debounce. Taken earlier, a push still on its way from an earlier
 * change would look like the new change arriving.
 */
async function settledVersions(mesh: MeshRun, names: readonly string[], timeoutMs: number): Promise<Map<string, string | null>> {
  const settled = (all: ProxyStatus[]): Map<string, string | null> | undefined => {
    const out = new Map<string, string | null>();
    for (const name of names) {
      const p = all.find((x) => x.name === name);
      if (p === undefined || p.ackedVersion !== p.sentVersion) return undefined;
      out.set(name, p.ackedVersion);
    }
    return out;
  };
  const same = (a: Map<string, string | null>, b: Map<string, string | null>): boolean => [...a].every(([k, v]) => b.get(k) === v);
  return eventually(
    `no push in flight to ${names.join(', ')}`,
    async () => {
      const first = settled(await proxyStatuses(mesh));
      if (first === undefined) return undefined;
      await new Promise((r) => setTimeout(r, 300));
      const second = settled(await proxyStatuses(mesh));
      return second !== undefined && same(first, second) ? second : undefined;
    },
    timeoutMs,
  );
}

/** The push-stream id of every proxy mesh.json lists: its gateways and its workloads' sidecars. */
export function meshProxyIds(mesh: MeshRun): string[] {
  const m = mesh.mesh();
  const gateways = [m.gateway, m.egressGateway].filter((g) => g !== null && g !== undefined);
  return [...gateways.map((g) => `gateway/${g.namespace}/${g.name}`), ...m.workloads.map((w) => `sidecar/${w.namespace}/${w.name}`)];
}

/**
 * Waits, bounded, until each of `proxyIds` runs a config for which `holds` is true: the config it last ACKed, as the
 * control plane records it. Unlike a changed version, this holds however many pushes the change took and for a
 * proxy that connected while it was being applied.
 */
export async function untilRunning(
  mesh: MeshRun,
  what: string,
  holds: (config: ProxyConfig, proxyId: string) => boolean,
  proxyIds: readonly string[] = meshProxyIds(mesh),
  timeoutMs = 30_000,
): Promise<void> {
  const client = await ControlClient.fromStateDir(mesh.stateDir);
  try {
    const pending = new Set(proxyIds);
    await eventually(
      what,
      async () => {
        // A proxy that has not ACKed since it connected is refused (404) and asked again on the next round.
        for (const id of [...pending]) if (holds((await client.proxyConfig(id)).config, id)) pending.delete(id);
        if (pending.size > 0) throw new Error(`${[...pending].join(', ')} not running it yet`);
        return true;
      },
      timeoutMs,
    );
  } finally {
    await client.close();
  }
}

/**
 * Test support: run `weft up` for real (a child process with its own state directory and ingress port), read
 * what it reports in mesh.json, send traffic the way a workload's app would (through its sidecar's outbound
 * address), and stop it, checking that nothing it started is left running.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import type { MeshFile, MeshWorkloadEntry } from '../../src/mesh/mesh-file.js';
import { processAlive } from '../../src/mesh/process-alive.js';
import { REPO_ROOT, WEFT_BIN, runWeft, weftUp } from '../../bench/weft-mesh.js';
import type { WeftUp } from '../../bench/weft-mesh.js';

export { REPO_ROOT, WEFT_BIN, runWeft };

/** The same `weft up` the bench runs, with what tests add: workloads by name and the CLI against this mesh. */
export interface MeshRun extends WeftUp {
  workload(name: string): MeshWorkloadEntry;
  weft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * `isolation` unset: no --isolation flag, so weft chooses as a user's `weft up` would (netns as root). Tests that
 * call a sidecar's outbound listener from the host (callAs) need `none`.
 */
export async function startMesh(
  paths: string[],
  opts: { stateDir?: string; extraArgs?: string[]; isolation?: 'none' | 'netns'; timeoutMs?: number } = {},
): Promise<MeshRun> {
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'weft-test-'));
  const up = await weftUp(paths, stateDir, opts.timeoutMs ?? 60_000, undefined, opts.extraArgs, opts.isolation ?? 'default');
  const run: MeshRun = {
    ...up,
    workload(name) {
      const w = run.mesh().workloads.find((x) => x.name === name);
      if (!w) throw new Error(`no workload ${name} in mesh.json`);
      return w;
    },
    weft: (args, input) => runWeft(['--state-dir', stateDir, ...args], input),
  };
  return run;
}

const appAgent = new Agent({ keepAliveTimeout: 1000 });

/** A request as the app of `from` would make it: absolute-form to its sidecar's outbound listener. */
export async function callAs(
  from: MeshWorkloadEntry,
  url: string,
  init: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const res = await appAgent.request({
    origin: `http://${from.outbound}`,
    method: init.method ?? 'GET',
    path: url,
    headers: { host: new URL(url).host, ...init.headers },
    body: init.body,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

/** True if a process with this pid is alive (a zombie waiting for its reaper is not). */
export function alive(pid: number | null | undefined): boolean {
  return pid ? processAlive(pid) : false;
}

export function pidsOf(m: MeshFile): number[] {
  const pids = [m.control.pid, m.gateway?.proxyPid, m.egressGateway?.proxyPid, ...m.workloads.flatMap((w) => [w.proxyPid, w.appPid])];
  return pids.filter((p): p is number => typeof p === 'number');
}

/** Every process a mesh file names: pidsOf's, and the control plane's replicas and etcd members when it has them. */
export function everyPidOf(m: MeshFile): number[] {
  return [...pidsOf(m), ...(m.replicas ?? []).map((r) => r.pid), ...(m.etcd ?? []).map((e) => e.pid)].filter((p): p is number => typeof p === 'number');
}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

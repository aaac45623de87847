/**
 * Test support for history and audit on a running `weft up` mesh: httpbin on loopback, the CLI as a user types it,
 * and the VirtualService both files change. The mesh is stopped and its state directory removed after the file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after } from 'node:test';
import { stateDirLayout } from '../../src/mesh/state-dir.js';
import type { StateDirLayout } from '../../src/mesh/state-dir.js';
import { startMesh } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';

export const route = (timeout: string): string => `apiVersion: networking.istio.io/v1
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

export interface RouteMesh {
  run: MeshRun;
  weft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** A command that must succeed with nothing on stderr: its stdout. */
  ok(args: string[], input?: string): Promise<string>;
  getRoute(...extra: string[]): Promise<{ metadata: { resourceVersion: string }; spec: { http: { timeout: string }[] } }>;
  layout: StateDirLayout;
  /** The id of the admin credential `weft up` wrote, as the audit names it. */
  credentialId: string;
}

let started: MeshRun | undefined;
after(async () => {
  if (started === undefined) return;
  await started.stop();
  fs.rmSync(started.stateDir, { recursive: true, force: true });
});

export async function routeMesh(extraArgs: string[]): Promise<RouteMesh> {
  const run = await startMesh(['examples/httpbin'], { isolation: 'none', extraArgs });
  started = run;
  const weft = (args: string[], input?: string) => run.weft(args, input);
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await weft(args, input);
    assert.deepEqual([r.code, r.stderr], [0, ''], `weft ${args.join(' ')}`);
    return r.stdout;
  };
  const getRoute = async (...extra: string[]) => JSON.parse(await ok(['get', 'vs', 'httpbin-route', '-o', 'json', ...extra])) as Awaited<ReturnType<RouteMesh['getRoute']>>;
  const layout = stateDirLayout(run.stateDir);
  const credentialId = /^weft_([0-9a-f]{16})_/.exec(fs.readFileSync(layout.adminCredentialFile, 'utf8'))?.[1];
  assert.ok(credentialId);
  return { run, weft, ok, getRoute, layout, credentialId };
}

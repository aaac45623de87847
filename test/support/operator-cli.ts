/** The CLI as an operator runs it against a test's mesh, and what the operator-role tests check afterwards. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { after, before } from 'node:test';
import type { AuditEntry } from '../../src/control/store/audit-chain.js';
import { stateDirLayout } from '../../src/mesh/state-dir.js';
import { REPO_ROOT, WEFT_BIN, startMesh } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';

export type WeftRun = (args: string[], env?: Record<string, string>, input?: string) => Promise<{ code: number; stdout: string; stderr: string }>;

/** `weft` against the mesh, with extra environment (WEFT_CREDENTIAL) when given; none from the test's own. */
export function weftOn(mesh: () => MeshRun): WeftRun {
  return (args, env = {}, input = '') =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [WEFT_BIN, '--state-dir', mesh().stateDir, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, WEFT_CREDENTIAL: '', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: 30_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input);
    });
}

/** A VirtualService for httpbin that an editor of `default` may apply. */
export const HTTPBIN_ROUTE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: default }
spec:
  hosts: [httpbin]
  http: [{ route: [{ destination: { host: httpbin } }] }]
`;

/** httpbin and sleep on loopback for the whole file (started before its tests, stopped and removed after), and `weft` against it. */
export function httpbinMeshForFile(): { mesh: () => MeshRun; weft: WeftRun } {
  let mesh: MeshRun | undefined;
  before(async () => {
    mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  });
  after(async () => {
    if (mesh === undefined) return;
    await mesh.stop();
    fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  });
  const current = (): MeshRun => mesh as MeshRun;
  return { mesh: current, weft: weftOn(current) };
}

/** The refusals of the audit chain as an auditor credential reads them: [actor, status, verb, kind, namespace]. */
export async function refusalsReadByAuditor(weft: WeftRun): Promise<unknown[][]> {
  const auditor = (await weft(['auth', 'create-credential', '--role', 'auditor', '--name', 'audit'])).stdout.trim();
  const read = await weft(['audit', 'log', '--kind', 'refusal', '-o', 'json'], { WEFT_CREDENTIAL: auditor });
  assert.equal(read.code, 0, read.stderr);
  return (JSON.parse(read.stdout) as AuditEntry[]).map((e) =>
    e.type === 'refusal' ? [e.actor?.name ?? null, e.status, e.verb ?? null, e.key?.kind ?? null, e.key?.namespace ?? null] : [],
  );
}

/** Neither a credential's secret nor its plain SHA-256 is in the store's files. */
export function assertStoreHoldsNoSecret(stateDir: string, secrets: readonly string[]): void {
  const layout = stateDirLayout(stateDir);
  for (const file of [layout.storeFile, `${layout.storeFile}-wal`]) {
    const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    for (const secret of secrets) {
      assert.equal(bytes.includes(Buffer.from(secret.slice('weft_0123456789abcdef_'.length))), false, `${file} holds a secret`);
      assert.equal(bytes.includes(createHash('sha256').update(secret).digest()), false, `${file} holds a plain hash`);
    }
  }
}

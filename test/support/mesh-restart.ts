/**
 * Test support: a mesh stopped with Ctrl-C and started again on its state directory. Before the stop a Service is
 * applied at run time (in the store, not in the files); the stop leaves no process and no mesh.json; after it the CA
 * is the same, the Service is there again and the files apply again without a change.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { MeshFile } from '../../src/mesh/mesh-file.js';
import { alive, eventually, everyPidOf, startMesh } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';

const MARKER = 'apiVersion: v1\nkind: Service\nmetadata: { name: survivor, namespace: default }\nspec: { selector: { app: none }, ports: [{ port: 80, name: http }] }\n';

export interface Restart {
  /** Passed to both `weft up`s. */
  extraArgs?: string[];
  /** A resource of the files, `kind/name` as `weft apply` prints it, that the second start must find unchanged. */
  unchanged: string;
  /** Checks on the first mesh's processes before the stop. */
  beforeStop?: (m: MeshFile, pids: number[]) => void;
}

/**
 * Runs `check` on the restarted mesh, then stops it and removes the state directory, whatever failed on the way.
 */
export async function afterRestart(files: string[], o: Restart, check: (mesh: MeshRun) => Promise<void>): Promise<void> {
  let mesh = await startMesh(files, { isolation: 'none', extraArgs: o.extraArgs });
  const { stateDir } = mesh;
  try {
    assert.equal((await mesh.weft(['apply', '-f', '-'], MARKER)).code, 0);
    const bundle = fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8');
    const pids = everyPidOf(mesh.mesh());
    o.beforeStop?.(mesh.mesh(), pids);
    await mesh.stop('SIGINT');
    assert.equal(mesh.child.exitCode, 0);
    await eventually('every process gone', () => (pids.every((p) => !alive(p)) ? true : undefined), 20_000);
    assert.ok(!fs.existsSync(path.join(stateDir, 'mesh.json')), 'mesh.json removed on a clean stop');

    mesh = await startMesh(files, { stateDir, isolation: 'none', extraArgs: o.extraArgs });
    assert.equal(fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8'), bundle, 'the same CA after the restart');
    const got = await mesh.weft(['get', 'service', 'survivor']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /survivor/);
    assert.match(mesh.output(), new RegExp(`${o.unchanged} unchanged`));
    await check(mesh);
  } finally {
    await mesh.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

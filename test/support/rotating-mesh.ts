/**
 * Test support for the faults tests: one httpbin + sleep mesh per file on loopback whose certificates rotate every
 * 5 s throughout (bench/mesh-faults.ts's MeshConfig), started before the file's tests and stopped after them.
 */
import { before } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROTATING_MESH_CONFIG } from '../../bench/mesh-faults.js';
import { cleanup } from './cleanup.js';
import { startMesh } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';

/** Registers the file's mesh; the returned function gives it to a test once `before` has run. */
export function rotatingMesh(what: string): () => MeshRun {
  let mesh: MeshRun | undefined;
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-faults-'));
  fs.writeFileSync(path.join(configDir, 'mesh.yaml'), ROTATING_MESH_CONFIG);
  before(async () => {
    mesh = await startMesh(['examples/httpbin', configDir], { isolation: 'none' });
  });
  cleanup(what, async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
    fs.rmSync(configDir, { recursive: true, force: true });
  });
  return () => {
    if (!mesh) throw new TypeError('the mesh is not up: rotatingMesh() must be called at the top of the file');
    return mesh;
  };
}

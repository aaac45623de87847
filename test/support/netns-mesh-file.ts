/**
 * One test file's httpbin mesh in network namespaces: its state directory and the digest its kernel objects carry,
 * the host's forwarding from before any mesh, `weft up --isolation=netns` on that directory (as often as the file
 * needs), and the file's cleanup (registered when made). Root and `ip netns` are required: `skip` says why not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../../src/mesh/netns/pod-names.js';
import { cleanup } from './cleanup.js';
import { forwardingBeforeWeft } from './ip-forward.js';
import { startMesh } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';
import { podTestSkipReason, removeMeshObjects } from './netns-traces.js';

export interface NetnsMeshFile {
  skip: string | undefined;
  stateDir: string;
  digest: string;
  /** net.ipv4.ip_forward before any mesh on this machine ('' when skipped). */
  forwardingBefore: string;
  up(): Promise<MeshRun>;
}

export async function netnsMeshFile(what: string): Promise<NetnsMeshFile> {
  const skip = await podTestSkipReason([]);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `weft-${what}-`));
  const digest = meshDigest(stateDir);
  const runs: MeshRun[] = [];
  cleanup(what, async () => {
    for (const r of runs) await r.stop('SIGTERM');
    if (skip) return;
    await removeMeshObjects(digest);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  return {
    skip,
    stateDir,
    digest,
    forwardingBefore: skip ? '' : forwardingBeforeWeft(),
    async up() {
      const r = await startMesh(['examples/httpbin'], { stateDir, extraArgs: ['--isolation=netns'] });
      runs.push(r);
      return r;
    },
  };
}

/**
 * The tcp-echo example's README is true: its `weft exec` command, run by a shell as written (only the state
 * directory added) against the mesh its `weft up` line starts, prints what the README says it prints, on loopback and in network
 * namespaces (the default as root). The client is the example's own; nothing from outside the project is needed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { REPO_ROOT, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { podTestSkipReason, removeMeshObjects } from './support/netns-traces.js';

const noNetns = await podTestSkipReason([]);

/** The README's sh block: the `weft up` paths, and the `weft exec` command line with the output its comment promises. */
function documented(): { upPaths: string[]; exec: string; prints: string } {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'examples', 'tcp-echo', 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const lines = block.split('\n').filter((l) => l.startsWith('node bin/weft.js '));
  const up = lines.find((l) => l.startsWith('node bin/weft.js up '));
  const exec = lines.find((l) => l.startsWith('node bin/weft.js exec '));
  assert.ok(up && exec, 'the README shows weft up and weft exec');
  const at = exec.lastIndexOf(' # ');
  assert.ok(at > 0, 'the weft exec line says what it prints');
  return { upPaths: up.split(/\s+/).slice(3), exec: exec.slice(0, at).trim(), prints: `${exec.slice(at + 3).trim()}\n` };
}

/** `command` as a shell in the repository runs it, `weft` pointed at `stateDir`. */
function shell(command: string, stateDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = command.replace(/^node bin\/weft\.js /, `node bin/weft.js --state-dir '${stateDir}' `);
  return new Promise((resolve) => {
    execFile('sh', ['-c', cmd], { cwd: REPO_ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const runs: MeshRun[] = [];
after(async () => {
  for (const r of runs) {
    await r.stop();
    if (!noNetns) await removeMeshObjects(meshDigest(r.stateDir)).catch(() => undefined);
    fs.rmSync(r.stateDir, { recursive: true, force: true });
  }
});

for (const isolation of ['none', 'netns'] as const) {
  test(`the README's tcp-echo command prints what it says (isolation ${isolation})`, { skip: isolation === 'netns' ? noNetns : undefined, timeout: 120_000 }, async () => {
    const { upPaths, exec, prints } = documented();
    assert.deepEqual(upPaths, ['examples/httpbin', 'examples/tcp-echo']);
    const mesh = await startMesh(upPaths, { isolation });
    runs.push(mesh);
    assert.equal(mesh.mesh().isolation, isolation);
    const r = await shell(exec, mesh.stateDir);
    assert.deepEqual(r, { code: 0, stdout: prints, stderr: '' });
    assert.equal(prints, 'hello world\n');
  });
}

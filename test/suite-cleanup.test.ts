/**
 * A test file that is cancelled (it overran its timeout: node's runner sends SIGTERM, and no `after` hook runs) or
 * killed outright (SIGKILL) leaves nothing running: its mesh's processes stop and its network namespace is removed.
 * The fixture starts a real `weft up` and hangs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markedProcesses } from '../src/mesh/leftover-processes.js';
import { eventually } from './support/mesh-process.js';
import { cleanup } from './support/cleanup.js';
import { run } from './support/netns-traces.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hanging-mesh.fixture.js', import.meta.url));
const dirs: string[] = [];
cleanup('suite-cleanup', () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function namespaces(): Promise<string[]> {
  return (await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }))).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
}

/** Starts the fixture as a test file's process, waits until its mesh is up; returns it and what it made. */
async function startFixture(): Promise<{ child: ReturnType<typeof spawn>; stateDir: string; weftUpPid: number; netns: string; exited: Promise<void> }> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cancel-'));
  dirs.push(stateDir);
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, WEFT_FIXTURE_STATE: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const ready = await eventually('the fixture\'s mesh', () => /FIXTURE-READY (\d+) (\S*)/.exec(out) ?? undefined, 60_000).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n${out}`);
  });
  const weftUpPid = Number(ready[1]);
  assert.ok(markedProcesses(stateDir).length >= 4, 'control plane, sidecars and apps run');
  return { child, stateDir, weftUpPid, netns: ready[2] ?? '', exited };
}


function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a test file cancelled by its timeout (SIGTERM, as the runner sends) stops its mesh and removes its namespace before it exits', async () => {
  const f = await startFixture();
  f.child.kill('SIGTERM');
  await f.exited;
  // Already gone when the file's process has exited: its own teardown did it, not the orphan watch.
  assert.deepEqual(markedProcesses(f.stateDir), [], 'no process of the mesh survives the file');
  assert.equal(isAlive(f.weftUpPid), false, 'weft up has exited');
  if (f.netns !== '') assert.ok(!(await namespaces()).includes(f.netns), `${f.netns} is removed`);
});

test('a test file killed outright (SIGKILL): weft up sees its starter gone and stops its mesh', async () => {
  const f = await startFixture();
  f.child.kill('SIGKILL');
  await f.exited;
  await eventually('every process of the mesh to stop', () => markedProcesses(f.stateDir).length === 0 && !isAlive(f.weftUpPid), 30_000);
  // The namespace cannot be removed by a process that was killed outright: the next suite's sweep does it.
  if (f.netns !== '') await run('ip', ['netns', 'delete', f.netns]).catch(() => undefined);
});

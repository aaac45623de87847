/** A `weft up` of some manifests in its own state directory, as a user would run it, and its clean stop. */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MeshFile } from '../src/mesh/mesh-file.js';
import { freeListenPort } from './listen-port.js';
import { onTeardown } from './teardown.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEFT_BIN = path.join(REPO_ROOT, 'bin', 'weft.js');

export interface WeftUp {
  stateDir: string;
  ingressPort: number;
  child: ChildProcess;
  /** Milliseconds from spawning `weft up` to its "mesh is up". */
  upMs: number;
  mesh(): MeshFile;
  output(): string;
  /** Stop with `signal` (default SIGTERM, as Ctrl-C would), SIGKILL after 20 s. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `isolation` is passed as --isolation unless `extraArgs` names one; `default` passes none, leaving the choice to
 * weft (netns when it can). The bench measures loopback unless asked, so its numbers compare across machines.
 */
export async function weftUp(
  paths: string[],
  stateDir: string,
  timeoutMs = 90_000,
  ingress?: number,
  extraArgs: readonly string[] = [],
  isolation: 'none' | 'netns' | 'default' = 'none',
): Promise<WeftUp> {
  fs.mkdirSync(stateDir, { recursive: true });
  const ingressPort = ingress ?? (await freeListenPort());
  const started = performance.now();
  const isolationArgs = isolation === 'default' || extraArgs.some((a) => a.startsWith('--isolation')) ? [] : [`--isolation=${isolation}`];
  const args = [WEFT_BIN, '--state-dir', stateDir, 'up', ...paths, '--ingress-port', String(ingressPort), ...isolationArgs, ...extraArgs];
  // Its own process group, so a last-resort kill reaches whatever it started too; WEFT_PARENT_PID makes it stop
  // its mesh by itself if this process dies without a chance to stop it (SIGKILL).
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, WEFT_PARENT_PID: String(process.pid) },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  };
  const pgid = child.pid;
  const unregister = onTeardown({
    what: `weft up ${stateDir}`,
    stop: () => stop('SIGTERM'),
    kill: () => {
      if (pgid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-pgid, 'SIGKILL');
    },
  });
  child.once('exit', unregister);
  const up = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const check = (): void => {
      if (out.includes('mesh is up')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  const upMs = performance.now() - started;
  if (!up) {
    await stop('SIGKILL');
    throw new Error(`weft up did not come up:\n${out}`);
  }
  return {
    stateDir,
    ingressPort,
    child,
    upMs,
    mesh: () => JSON.parse(fs.readFileSync(path.join(stateDir, 'mesh.json'), 'utf8')) as MeshFile,
    output: () => out,
    stop,
  };
}

/** One `weft` CLI command as a user would type it, with `input` on stdin. */
export function runWeft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WEFT_BIN, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/**
 * Running the system's network tools: `execFile` (never a shell, so a workload name can never become a command),
 * a bounded time, and a coded error carrying the command and its stderr when the exit code is not zero.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs `file args...`; rejects with NETNS_COMMAND_FAILED unless it exits 0. Tests pass a fake. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<CommandResult>;

const COMMAND_TIMEOUT_MS = 15_000;

export const execCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 8 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const how = typeof err.code === 'number' ? `exit ${err.code}` : err.killed ? 'timed out' : String(err.code ?? err.message);
        reject(
          new WeftError('NETNS_COMMAND_FAILED', `${[file, ...args].join(' ')} failed (${how}): ${stderr.trim() || err.message}`, {
            cause: err,
            detail: { file, args: [...args], stderr: stderr.trim() },
          }),
        );
        return;
      }
      resolve({ stdout, stderr });
    });
  });

/** Where `ip` lives: the PATH first, then the sbin directories a non-login root shell may lack. */
export function findIpCommand(envPath: string | undefined = process.env['PATH']): string | undefined {
  return findSystemCommand('ip', envPath);
}

/** Where a system tool (`ip`, `iptables`) lives, looked up as `findIpCommand` does. */
export function findSystemCommand(name: string, envPath: string | undefined = process.env['PATH']): string | undefined {
  const dirs = [...(envPath ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

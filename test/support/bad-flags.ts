/**
 * Bad flag values given to the CLI: the files a case names (a missing one, a directory, a regular file), the
 * refusal line commander or a flag's parser writes, and a runner that checks every case is refused before anything
 * starts: one line on stderr naming the flag, exit status 1, nothing on stdout.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, runWeft } from './mesh-process.js';

export type BadFlagCase = [args: string[], stderr: string];

export const invalid = (flag: string, value: string, reason: string): string => `error: option '${flag}' argument '${value}' is invalid. ${reason}\n`;
export const PORT = 'A port is a number from 1 to 65535.';
export const NAMESPACE = 'A namespace must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit.';
export const DURATION = 'Expected a positive duration like 30s, 10m or 720h.';
export const CIDR = 'Expected an IPv4 CIDR with no host bits set, like 198.18.0.0/15.';

export interface BadFlagFiles {
  /** A temporary directory, removed after the file's tests. */
  dir: string;
  /** Under a regular file: should a verb ever accept one of these flags, it fails there instead of starting a mesh. */
  stateDir: string;
  missing: string;
  /** A regular file that exists (package.json). */
  file: string;
}

export function badFlagFiles(): BadFlagFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cli-flags-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'not-a-directory'), '');
  return { dir, stateDir: path.join(dir, 'not-a-directory', 'state'), missing: path.join(dir, 'missing.pem'), file: path.join(REPO_ROOT, 'package.json') };
}

/** Four processes at a time: each case is a separate CLI start, and none of them touches anything another reads. */
export async function assertEachRefused(stateDir: string, cases: readonly BadFlagCase[]): Promise<void> {
  const next = cases.entries();
  const worker = async (): Promise<void> => {
    for (const [, [args, stderr]] of next) {
      const r = await runWeft(['--state-dir', stateDir, ...args]);
      assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 1, stdout: '', stderr }, args.join(' '));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

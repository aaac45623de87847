/** The machine a run happened on, for the top of RESULTS.md. */
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';

export interface MachineInfo {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  tools: Record<string, string>;
}

function version(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0]?.trim() ?? '';
  } catch (err) {
    // Some tools print their version and then exit non-zero, or print it on stderr.
    const e = err as { stdout?: string; stderr?: string };
    const text = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
    return text === '' ? 'missing' : (text.split('\n')[0]?.trim() ?? '');
  }
}

export function describeMachine(): MachineInfo {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const nginx = (() => {
    try {
      return execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? 'missing').trim();
    }
  })();
  return {
    date: new Date().toISOString(),
    cpus: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: os.release(),
    tools: {
      wrk: version('wrk', ['-v']),
      h2load: version('h2load', ['--version']),
      nginx: nginx.split('\n').find((l) => l.includes('nginx version')) ?? nginx,
    },
  };
}

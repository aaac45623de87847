/** The machine a run happened on, for the top of RESULTS.md. */
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';

export interface MachineInfo {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  /** The commit measured; `-dirty` when the working tree had changes the build included. */
  revision: string;
  tools: Record<string, string>;
}

/** First line of a tool's version output, wherever it prints it (nginx on stderr, wrk with a non-zero exit). */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return 'missing';
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return text === '' ? 'missing' : (text.split('\n')[0]?.trim() ?? '');
}

export function describeMachine(): MachineInfo {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  return {
    date: new Date().toISOString(),
    cpus: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: os.release(),
    revision: version('git', ['describe', '--always', '--dirty']),
    tools: {
      wrk: version('wrk', ['-v']),
      h2load: version('h2load', ['--version']),
      nginx: version('nginx', ['-v']),
    },
  };
}

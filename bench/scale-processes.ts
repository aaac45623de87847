/** The processes a scale run starts: simulated proxies and control planes read line by line, stopped in time; etcd. */
import type { ChildProcess } from 'node:child_process';
import { startEtcdCluster } from '../src/control/store/etcd-process.js';
import type { EtcdMember } from '../src/control/store/etcd-process.js';
import { freeListenPort } from './listen-port.js';
import { onTeardown } from './teardown.js';

export function readLines(child: ChildProcess, onLine: (line: string) => void): void {
  let rest = '';
  child.stdout?.on('data', (c: Buffer) => {
    const lines = (rest + c.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}


export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Three etcd members on loopback for a replicated run, stopped however the run ends. */
export async function startBenchEtcd(dir: string): Promise<{ endpoints: string[]; pids: number[]; stop: () => Promise<void> }> {
  const members: EtcdMember[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.stop()));
  };
  const unregister = onTeardown({ what: `etcd cluster in ${dir}`, stop, kill: () => members.forEach((m) => m.kill()) });
  const ports: number[] = [];
  while (ports.length < 6) {
    const p = await freeListenPort();
    if (!ports.includes(p)) ports.push(p);
  }
  members.push(...(await startEtcdCluster({ dir, ports })));
  return {
    endpoints: members.map((m) => m.clientUrl),
    pids: members.map((m) => m.pid ?? 0),
    stop: async () => {
      await stop();
      unregister();
    },
  };
}

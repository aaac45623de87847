/**
 * True if a process with this pid exists and has not exited (EPERM: it exists but belongs to someone else). A
 * zombie has exited: its parent died first and the reaper (PID 1 of a container, often) has not collected it yet,
 * so it holds a pid but nothing else.
 */
import fs from 'node:fs';

export function processAlive(pid: number, procDir = '/proc'): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid, procDir);
}

function isZombie(pid: number, procDir: string): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`${procDir}/${pid}/stat`, 'utf8');
  } catch {
    // No procfs (not Linux) or gone this instant: the signal said it exists.
    return false;
  }
  // `pid (comm) S ...`: comm may hold spaces and parentheses, so the state follows the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

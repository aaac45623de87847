/**
 * A port for a server a bench or a test is about to start (a mesh's ingress, a load target). The kernel's usual
 * "bind port 0" answer comes from the ephemeral range, where any outgoing connection on the machine may take the
 * same port between the check and the server's own bind (a busy suite lost `weft up` runs to EADDRINUSE that way).
 * So ports are drawn at random below that range and checked by binding.
 */
import fs from 'node:fs';
import net from 'node:net';
import { randomInt } from 'node:crypto';

const LOWEST = 20_000;

function ephemeralStart(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

export async function freeListenPort(host = '127.0.0.1'): Promise<number> {
  const below = ephemeralStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = randomInt(LOWEST, below);
    if (await bindable(port, host)) return port;
  }
  throw new RangeError(`no free port between ${LOWEST} and ${below} after 200 tries`);
}

/**
 * Host ports `weft up` is about to hand to the ingress gateway, checked before anything starts: a port that is taken
 * would otherwise only show as a gateway NACK in its log while `weft up` waits for convergence.
 */
import net from 'node:net';
import { WeftError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
  /** What the port is for, as the person who chose it knows it (`--ingress-port`, `Gateway server port`). */
  what: string;
}

/** Binds and releases each port; the first that cannot be bound rejects with its address and the system's reason. */
export async function checkHostPortsFree(ports: readonly HostPort[]): Promise<void> {
  for (const p of ports) {
    const err = await tryBind(p.host, p.port);
    if (err === undefined) continue;
    const address = `${p.host}:${p.port}`;
    if (err.code === 'EADDRINUSE') throw new WeftError('PORT_IN_USE', `${p.what}: ${address} is already in use (EADDRINUSE)`);
    throw new WeftError('PORT_IN_USE', `${p.what}: cannot bind ${address} (${err.code ?? err.message})`);
  }
}

function tryBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

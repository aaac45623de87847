/**
 * A loopback TCP relay to one upstream, which a test can cut (every connection reset, new ones refused) and heal:
 * a network partition between one client and its server, without touching either process.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpRelay {
  port: number;
  cut(): Promise<void>;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(upstream: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const server = net.connect(upstream);
    for (const s of [client, server]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(server).pipe(client);
    client.once('close', () => server.destroy());
    server.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async cut() {
      cut = true;
      for (const s of sockets) s.resetAndDestroy();
    },
    heal() {
      cut = false;
    },
    async close() {
      cut = true;
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

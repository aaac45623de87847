/** For proxy tests: a server listening on a free loopback port, and that port. */
import type net from 'node:net';

export async function listenOnLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

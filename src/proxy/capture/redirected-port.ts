/** The port a connection redirected to this listener was dialled to; undefined for one dialled here directly. */
import type net from 'node:net';
import { originalDst } from './original-dst.js';

export function redirectedPort(socket: net.Socket): number | undefined {
  const dst = originalDst(socket);
  return dst === undefined || dst.port === socket.localPort ? undefined : dst.port;
}

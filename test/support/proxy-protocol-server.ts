/**
 * A strict reader of the PROXY protocol header (HAProxy's proxy-protocol.txt, v1 and v2) for tests, written apart
 * from the proxy's writer so that one does not check itself: anything the spec does not allow (a v1 line over 107
 * bytes, ports with leading zeros, addresses of the wrong family, a v2 length that does not fit the family, an
 * unknown version or command) is an error. A connection that does not start with a signature has no header.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';

export type ParsedProxyHeader =
  | { readonly version: 1 | 2; readonly command: 'PROXY'; readonly family: 'TCP4' | 'TCP6'; readonly source: string; readonly sourcePort: number; readonly destination: string; readonly destinationPort: number }
  | { readonly version: 1; readonly command: 'UNKNOWN' }
  | { readonly version: 2; readonly command: 'LOCAL' };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_MAX = 107;
const PORT = /^(0|[1-9]\d{0,4})$/;

/** How much of `buf` the header takes and what it says; `incomplete` when more bytes are needed; null: no header. */
export function parseProxyHeader(buf: Buffer): { header: ParsedProxyHeader; length: number } | 'incomplete' | null {
  if (buf.length === 0) return 'incomplete';
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  return null;
}

function parseV1(buf: Buffer): { header: ParsedProxyHeader; length: number } | 'incomplete' | null {
  const prefix = Buffer.from('PROXY ');
  if (!buf.subarray(0, prefix.length).equals(prefix.subarray(0, Math.min(prefix.length, buf.length)))) return null;
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= V1_MAX) throw new Error('PROXY v1: no CRLF within 107 bytes');
    return 'incomplete';
  }
  if (end + 2 > V1_MAX) throw new Error('PROXY v1: line longer than 107 bytes');
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  if (parts[1] === 'UNKNOWN') return { header: { version: 1, command: 'UNKNOWN' }, length: end + 2 };
  if (parts.length !== 6) throw new Error(`PROXY v1: expected 6 fields, got ${parts.length}`);
  const [, family, source, destination, sp, dp] = parts as [string, string, string, string, string, string];
  if (family !== 'TCP4' && family !== 'TCP6') throw new Error(`PROXY v1: unknown family ${family}`);
  const want = family === 'TCP4' ? 4 : 6;
  if (net.isIP(source) !== want || net.isIP(destination) !== want) throw new Error(`PROXY v1: addresses ${source} ${destination} are not ${family}`);
  if (!PORT.test(sp) || !PORT.test(dp) || Number(sp) > 65535 || Number(dp) > 65535) throw new Error(`PROXY v1: bad ports ${sp} ${dp}`);
  const canonical = (a: string): string => (family === 'TCP6' ? new net.SocketAddress({ address: a, family: 'ipv6' }).address : a);
  return { header: { version: 1, command: 'PROXY', family, source: canonical(source), sourcePort: Number(sp), destination: canonical(destination), destinationPort: Number(dp) }, length: end + 2 };
}

function parseV2(buf: Buffer): { header: ParsedProxyHeader; length: number } | 'incomplete' | null {
  const seen = buf.subarray(0, V2_SIGNATURE.length);
  if (!seen.equals(V2_SIGNATURE.subarray(0, seen.length))) return null;
  if (buf.length < 16) return 'incomplete';
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) throw new Error(`PROXY v2: version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  const fam = buf[13]!;
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return 'incomplete';
  if (command === 0x0) return { header: { version: 2, command: 'LOCAL' }, length: 16 + len };
  if (command !== 0x1) throw new Error(`PROXY v2: command ${command}`);
  if (fam === 0x11) {
    if (len < 12) throw new Error(`PROXY v2: TCP4 length ${len}`);
    const a = (at: number): string => [...buf.subarray(at, at + 4)].join('.');
    return { header: { version: 2, command: 'PROXY', family: 'TCP4', source: a(16), destination: a(20), sourcePort: buf.readUInt16BE(24), destinationPort: buf.readUInt16BE(26) }, length: 16 + len };
  }
  if (fam === 0x21) {
    if (len < 36) throw new Error(`PROXY v2: TCP6 length ${len}`);
    const a = (at: number): string => {
      const groups: string[] = [];
      for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + 2 * i).toString(16));
      return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
    };
    return { header: { version: 2, command: 'PROXY', family: 'TCP6', source: a(16), destination: a(32), sourcePort: buf.readUInt16BE(48), destinationPort: buf.readUInt16BE(50) }, length: 16 + len };
  }
  throw new Error(`PROXY v2: family/transport 0x${fam.toString(16)}`);
}

/** One connection as the upstream saw it: the header it started with (null: none) and the bytes after it. */
export interface ReceivedConnection {
  readonly header: ParsedProxyHeader | null;
  /** The accepted socket, the bytes after the header put back: for a server that reads it as a stream. */
  readonly socket: net.Socket;
  /**
   * The bytes after the header as a stream of their own, for a server that would read the socket's handle directly
   * and miss what was put back (TLS, HTTP/2). Call it while the connection is handed on, before any other reader.
   */
  stream(): Duplex;
}

/**
 * Reads each accepted connection's header (or its absence) and hands the socket on with the bytes after the header
 * put back, so the test's server (an echo, TLS, HTTP) serves the rest. A malformed header fails the connection and
 * is kept in `errors`.
 */
export function readProxyHeaders(onConnection: (c: ReceivedConnection) => void): { server: net.Server; received: ReceivedConnection[]; errors: Error[] } {
  const received: ReceivedConnection[] = [];
  const errors: Error[] = [];
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      let parsed: ReturnType<typeof parseProxyHeader>;
      try {
        parsed = parseProxyHeader(buf);
      } catch (err) {
        errors.push(err as Error);
        socket.destroy();
        return;
      }
      if (parsed === 'incomplete') return;
      socket.removeListener('data', onData);
      socket.pause();
      const rest = parsed === null ? buf : buf.subarray(parsed.length);
      if (rest.length > 0) socket.unshift(rest);
      const c = { header: parsed === null ? null : parsed.header, socket, stream: () => streamOf(socket) };
      received.push(c);
      onConnection(c);
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
  return { server, received, errors };
}

/** The socket's readable bytes and its writes, as a Duplex that is not the socket (so nothing reads its handle). */
function streamOf(socket: net.Socket): Duplex {
  const stream = new Duplex({
    read: () => socket.resume(),
    write: (chunk: Buffer, _enc, cb) => socket.write(chunk, cb),
    final: (cb) => {
      socket.end();
      cb();
    },
    destroy: (err, cb) => {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (d: Buffer) => {
    if (!stream.push(d)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  return stream;
}

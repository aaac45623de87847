/**
 * Test fixture: HTTP/2 frames written by hand, for attacks no well-behaved client library will send (more streams
 * than advertised, rapid resets, endless CONTINUATION, floods), and a reader that collects the frames a peer sends.
 */
import net from 'node:net';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** A literal header field without indexing, names and values shorter than 127 bytes, no Huffman. */
export function literal(name: string, value: string, index = false): Buffer {
  return Buffer.concat([Buffer.from([index ? 0x40 : 0x00, name.length]), Buffer.from(name), lengthPrefixed(value)]);
}

function lengthPrefixed(value: string): Buffer {
  const v = Buffer.from(value);
  if (v.length < 127) return Buffer.concat([Buffer.from([v.length]), v]);
  // HPACK integer with a 7-bit prefix.
  const bytes = [127];
  let n = v.length - 127;
  while (n >= 128) {
    bytes.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.concat([Buffer.from(bytes), v]);
}

/** POST with `:authority` (static-table indices for :method POST, :scheme http, :path /). */
export function requestBlock(authority: string, extra: Buffer[] = []): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x86, 0x84]), Buffer.concat([Buffer.from([0x01]), lengthPrefixed(authority)]), ...extra]);
}

export function settings(entries: Array<[number, number]> = []): Buffer {
  const p = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, p);
}

export function rstStream(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export interface SeenFrame {
  type: number;
  flags: number;
  streamId: number;
  /** RST_STREAM and GOAWAY: the error code. */
  code?: number;
}

/** A raw HTTP/2 connection: writes frames, collects what the server sends until it closes. */
export class RawH2 {
  readonly frames: SeenFrame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private readonly socket: net.Socket;
  readonly done: Promise<void>;

  /** `socket`: an already opened connection (a TLS client socket that offered ALPN h2); else plain TCP to `port`. */
  constructor(port: number, socket?: net.Socket) {
    this.socket = socket ?? net.connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.socket.on('data', (c: Buffer) => this.read(c));
    this.done = new Promise((r) =>
      this.socket.once('close', () => {
        this.closed = true;
        r();
      }),
    );
    this.socket.write(Buffer.concat([PREFACE, settings()]));
  }

  /** Writes, resolving when the bytes were handed to the kernel (or the server already closed). */
  write(b: Buffer): Promise<void> {
    return new Promise((r) => {
      if (this.socket.destroyed) r();
      else this.socket.write(b, () => r());
    });
  }

  goaway(): SeenFrame | undefined {
    return this.frames.find((f) => f.type === FRAME.GOAWAY);
  }

  count(type: number, code?: number): number {
    return this.frames.filter((f) => f.type === type && (code === undefined || f.code === code)).length;
  }

  close(): void {
    this.socket.destroy();
  }

  private read(c: Buffer): void {
    this.buf = Buffer.concat([this.buf, c]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      const type = this.buf[3]!;
      const f: SeenFrame = { type, flags: this.buf[4]!, streamId: this.buf.readUInt32BE(5) & 0x7fffffff };
      if (type === FRAME.RST_STREAM) f.code = this.buf.readUInt32BE(9);
      if (type === FRAME.GOAWAY) f.code = this.buf.readUInt32BE(13);
      if (type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0) this.socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      this.frames.push(f);
      this.buf = this.buf.subarray(9 + len);
    }
  }
}

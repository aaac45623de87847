/**
 * For proxy tests: requests written byte by byte on a plain socket, so that no client library merges, drops or
 * reorders what a hostile client would send (two Host fields, an :authority twice, a lower-case method).
 */
import net from 'node:net';

const WAIT_MS = 5_000;

/** Write `request` to 127.0.0.1:port and collect what comes back until the peer closes (or a bounded wait ends). */
export function rawHttp1(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(request));
    s.setTimeout(WAIT_MS, () => s.destroy());
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

/** The status code of the first response in what `rawHttp1` collected, or 0 when there is none. */
export function statusOf(response: string): number {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(response);
  return m ? Number(m[1]) : 0;
}

export type RawH2Answer =
  /** The server answered (`status` is 0 if it was coded in a way `statusOf` does not read). */
  | { kind: 'response'; status: number; body: string }
  | { kind: 'reset'; code: number }
  | { kind: 'goaway'; code: number }
  | { kind: 'closed' };

/** HPACK's static table indexes 8 to 14 are `:status` with these values (RFC 7541 Appendix A). */
const STATIC_STATUS = new Map([[0x88, 200], [0x89, 204], [0x8a, 206], [0x8b, 304], [0x8c, 400], [0x8d, 404], [0x8e, 500]]);

/**
 * The `:status` a response HEADERS block starts with, as nghttp2 writes it: an indexed static entry, or a literal
 * with the static `:status` name whose three digits are plain or Huffman coded (RFC 7541 Appendix B: 0-2 take 5
 * bits, 3-9 take 6).
 */
function h2Status(block: Buffer): number {
  const first = block[0] ?? 0;
  const indexed = STATIC_STATUS.get(first);
  if (indexed !== undefined) return indexed;
  const literalOfStatus = (first & 0xc0) === 0x40 ? (first & 0x3f) >= 8 && (first & 0x3f) <= 14 : (first & 0xe0) === 0 && (first & 0x0f) >= 8 && (first & 0x0f) <= 14;
  if (!literalOfStatus || block.length < 2) return 0;
  const huffman = (block[1]! & 0x80) !== 0;
  const value = block.subarray(2, 2 + (block[1]! & 0x7f));
  if (!huffman) return Number(value.toString('latin1'));
  let bits = 0;
  let width = 0;
  let at = 0;
  let digits = '';
  const take = (n: number): number => {
    while (width < n) {
      bits = (bits << 8) | (value[at++] ?? 0xff);
      width += 8;
    }
    width -= n;
    return (bits >> width) & ((1 << n) - 1);
  };
  for (let i = 0; i < 3; i++) {
    const five = take(5);
    digits += five < 3 ? String(five) : String(((five << 1) | take(1)) - 0x19 + 3);
  }
  return Number(digits);
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** Literal header fields without indexing and without Huffman coding (RFC 7541 §6.2.2): every field as written. */
function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    if (name.length > 126 || value.length > 126) throw new TypeError('raw HTTP/2 fields are kept short');
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1'));
  }
  return Buffer.concat(parts);
}

/**
 * One HTTP/2 request (stream 1, no body) with exactly the given fields, over cleartext prior knowledge; resolves with
 * the server's answer to that stream.
 */
export function rawH2Request(port: number, fields: ReadonlyArray<readonly [string, string]>): Promise<RawH2Answer> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let answer: RawH2Answer | undefined;
    let body = '';
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      s.write(frame(0x4, 0, 0, Buffer.alloc(0))); // SETTINGS
      s.write(frame(0x1, 0x4 | 0x1, 1, headerBlock(fields))); // HEADERS, END_HEADERS | END_STREAM
    });
    const done = (a: RawH2Answer): void => {
      answer = a;
      s.destroy();
    };
    s.setTimeout(WAIT_MS, () => s.destroy());
    s.on('error', () => undefined);
    s.on('close', () => resolve(answer ?? { kind: 'closed' }));
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const [type, flags, stream] = [buf[3]!, buf[4]!, buf.readUInt32BE(5) & 0x7fffffff];
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === 0x4 && (flags & 0x1) === 0) s.write(frame(0x4, 0x1, 0, Buffer.alloc(0))); // ACK their SETTINGS
        if (type === 0x7) return done({ kind: 'goaway', code: payload.readUInt32BE(4) });
        if (stream !== 1) continue;
        if (type === 0x3) return done({ kind: 'reset', code: payload.readUInt32BE(0) });
        if (type === 0x1) answer = { kind: 'response', status: h2Status(payload), body: '' };
        if (type === 0x0) body += payload.toString('latin1');
        if ((type === 0x1 || type === 0x0) && (flags & 0x1) !== 0 && answer?.kind === 'response') return done({ ...answer, body });
      }
    });
  });
}

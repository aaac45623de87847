/**
 * Reads the server name (SNI) from the first bytes of a TLS connection without terminating it, as Envoy's
 * tls_inspector does: enough to choose a ServiceEntry, then the bytes go on untouched. Written by hand because it
 * is a few dozen lines of bounds-checked reads (RFC 8446 §4.1.2, RFC 6066 §3) and must never throw on what an app
 * sends: every length is checked against what is there, and a ClientHello may span several records.
 */

/** Enough for any real ClientHello (post-quantum key shares included); a longer one is not waited for. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export type ClientHelloResult =
  /** More bytes are needed to decide. */
  | { kind: 'incomplete' }
  /** Not a TLS handshake record at all. */
  | { kind: 'not-tls' }
  /** Starts as TLS but is not a well-formed ClientHello: treated as TLS without a server name. */
  | { kind: 'invalid' }
  | { kind: 'hello'; sni: string | undefined };

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;

/** True when the bytes so far could begin a TLS handshake record (content type, then major version 3). */
export function looksLikeTls(buf: Buffer): boolean {
  return buf.length > 0 && buf[0] === RECORD_HANDSHAKE && (buf.length < 2 || buf[1] === 3);
}

export function parseClientHello(buf: Buffer): ClientHelloResult {
  if (!looksLikeTls(buf)) return { kind: 'not-tls' };
  // Reassemble the handshake message from consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let need: number | undefined;
  let at = 0;
  while (need === undefined || have < need) {
    if (at + 5 > buf.length) return buf.length >= MAX_CLIENT_HELLO_BYTES ? { kind: 'invalid' } : { kind: 'incomplete' };
    if (buf[at] !== RECORD_HANDSHAKE || buf[at + 1] !== 3) return { kind: 'invalid' };
    const len = buf.readUInt16BE(at + 3);
    if (len === 0 || len > 16_384 + 2048) return { kind: 'invalid' };
    if (at + 5 + len > buf.length) return buf.length >= MAX_CLIENT_HELLO_BYTES ? { kind: 'invalid' } : { kind: 'incomplete' };
    parts.push(buf.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need === undefined && have >= 4) {
      const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: 'invalid' };
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO_BYTES) return { kind: 'invalid' };
    }
  }
  const msg = (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).subarray(4, need);
  const sni = serverName(msg);
  return sni === null ? { kind: 'invalid' } : { kind: 'hello', sni };
}

/** The host_name of the server_name extension; undefined when absent, null when the message is malformed. */
function serverName(body: Buffer): string | undefined | null {
  const r = new Reader(body);
  // legacy_version, random
  if (!r.skip(2 + 32)) return null;
  if (!r.skipVector(1) || !r.skipVector(2) || !r.skipVector(1)) return null;
  if (r.remaining === 0) return undefined; // no extensions at all (TLS 1.0 style)
  const extensions = r.vector(2);
  if (!extensions) return null;
  while (extensions.remaining > 0) {
    const type = extensions.u16();
    const data = extensions.vector(2);
    if (type === undefined || !data) return null;
    if (type !== EXT_SERVER_NAME) continue;
    const list = data.vector(2);
    if (!list) return null;
    while (list.remaining > 0) {
      const nameType = list.u8();
      const name = list.vector(2);
      if (nameType === undefined || !name) return null;
      if (nameType === NAME_TYPE_HOST) return hostName(name.rest());
    }
    return undefined;
  }
  return undefined;
}

/** A DNS host name, lower case without a trailing dot; anything else (IP literals are not allowed) is no name. */
function hostName(raw: Buffer): string | undefined {
  if (raw.length === 0 || raw.length > 255) return undefined;
  let name = raw.toString('latin1').toLowerCase();
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/.test(name)) return undefined;
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name;
}

/** Bounds-checked reads over a slice: every method answers undefined/false instead of reading past the end. */
class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.#at;
  }

  skip(n: number): boolean {
    if (this.remaining < n) return false;
    this.#at += n;
    return true;
  }

  u8(): number | undefined {
    if (this.remaining < 1) return undefined;
    return this.buf[this.#at++];
  }

  u16(): number | undefined {
    if (this.remaining < 2) return undefined;
    const v = this.buf.readUInt16BE(this.#at);
    this.#at += 2;
    return v;
  }

  /** A length-prefixed vector (1 or 2 length bytes) as a reader of its own. */
  vector(lengthBytes: 1 | 2): Reader | undefined {
    const len = lengthBytes === 1 ? this.u8() : this.u16();
    if (len === undefined || this.remaining < len) return undefined;
    const sub = new Reader(this.buf.subarray(this.#at, this.#at + len));
    this.#at += len;
    return sub;
  }

  skipVector(lengthBytes: 1 | 2): boolean {
    return this.vector(lengthBytes) !== undefined;
  }

  rest(): Buffer {
    return this.buf.subarray(this.#at);
  }
}

/**
 * Just enough DER to read CSRs and write SVIDs on the CA's hot path. A general ASN.1 library costs about a
 * millisecond per CSR here, which caps signing far below the mesh's target rate; the structures involved are
 * few and fixed, so they are walked and written by hand. Anything malformed throws DerError, which callers
 * turn into their own coded error.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

export interface Tlv {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly begin: number;
  /** Offset of the first content octet. */
  readonly start: number;
  /** Offset just past the contents. */
  readonly end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Reads one TLV at `at`, checking it lies within `limit`. Only definite, minimal lengths are accepted. */
export function readTlv(der: Uint8Array, at: number, limit: number = der.length): Tlv {
  if (at + 2 > limit) throw new DerError(`truncated at offset ${at}`);
  const tag = der[at] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  const first = der[at + 1] ?? 0;
  let length = first;
  let start = at + 2;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new DerError('indefinite or oversized length');
    if (start + n > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (der[start + i] ?? 0);
    if (length < 0x80 || (der[start] ?? 0) === 0) throw new DerError('non-minimal length');
    start += n;
  }
  const end = start + length;
  if (end > limit) throw new DerError(`length ${length} at offset ${at} runs past its container`);
  return { tag, begin: at, start, end };
}

export function expectTlv(der: Uint8Array, at: number, tag: number, limit?: number): Tlv {
  const tlv = readTlv(der, at, limit);
  if (tlv.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)} at offset ${at}, found 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** The TLVs directly inside a constructed TLV. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const tlv = readTlv(der, at, parent.end);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

export function contents(der: Uint8Array, tlv: Tlv): Uint8Array {
  return der.subarray(tlv.start, tlv.end);
}

export function whole(der: Uint8Array, tlv: Tlv): Uint8Array {
  return der.subarray(tlv.begin, tlv.end);
}

/**
 * Dotted form of an OBJECT IDENTIFIER's contents. Only the one DER encoding of an OID is read: an empty OID, an arc
 * with a leading 0x80 octet (non-minimal), a last arc cut off mid-way, or an arc too large to hold exactly is a
 * DerError, so no two byte strings ever read as the same OID.
 */
export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  let arcStart = true;
  for (const b of bytes) {
    if (arcStart && b === 0x80) throw new DerError('non-minimal OBJECT IDENTIFIER arc');
    if (value > (Number.MAX_SAFE_INTEGER - 0x7f) / 128) throw new DerError('OBJECT IDENTIFIER arc too large');
    value = value * 128 + (b & 0x7f);
    arcStart = (b & 0x80) === 0;
    if (arcStart) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  if (!arcStart) throw new DerError('truncated OBJECT IDENTIFIER');
  return arcs.join('.');
}

function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) out.unshift(n & 0xff);
  return [0x80 | out.length, ...out];
}

/** Encodes one TLV whose contents are the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([Buffer.from([tag, ...lengthOctets(length)]), ...parts]);
}

export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift((n & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always UTC to the second. */
export function encodeTime(ms: number): Buffer {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${pad(y % 100)}${rest}`, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${pad(y, 4)}${rest}`, 'ascii'));
}

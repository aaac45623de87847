/**
 * How the control plane writes push-stream lines: a config from its parts, the proxy's own text as a string and
 * each shared section as one Buffer encoded once and written to every stream that shares it without a copy each,
 * so a config is never materialised as one string per proxy.
 */
import type http2 from 'node:http2';
import type { ConfigJsonPart } from './compile/index.js';
import type { SharedSection } from './compile/snapshot-memo.js';
import type { DeltaPart } from './push-delta.js';
import type { ControlMessage } from '../push/protocol.js';

/** Shared sections as bytes, encoded once per section (a section lives as long as the snapshot that made it). */
const sectionBytes = new WeakMap<SharedSection<unknown>, Buffer>();

export function bytesOf(section: SharedSection<unknown>): Buffer {
  let b = sectionBytes.get(section);
  if (!b) {
    b = Buffer.from(section.json, 'utf8');
    sectionBytes.set(section, b);
  }
  return b;
}

/** `{"type":"config","config":…}` and a newline, the config written from its parts; false when the buffer is full. */
export function writeConfigLine(stream: http2.ServerHttp2Stream, parts: readonly ConfigJsonPart[]): boolean {
  stream.cork();
  let ok = stream.write('{"type":"config","config":');
  for (const p of parts) ok = stream.write(typeof p === 'string' ? p : bytesOf(p));
  ok = stream.write('}\n');
  stream.uncork();
  return ok;
}

/** A line written from its parts (shared sections by their bytes); false when the buffer is full. */
export function writeDeltaLine(stream: http2.ServerHttp2Stream, parts: readonly DeltaPart[]): boolean {
  stream.cork();
  let ok = true;
  for (const p of parts) ok = stream.write(typeof p === 'string' ? p : bytesOf(p));
  ok = stream.write('\n');
  stream.uncork();
  return ok;
}

/** Any other control message, as one JSON line; nothing on a stream already closed. */
export function sendMessage(stream: http2.ServerHttp2Stream, msg: ControlMessage): void {
  if (!stream.closed && !stream.destroyed) stream.write(`${JSON.stringify(msg)}\n`);
}

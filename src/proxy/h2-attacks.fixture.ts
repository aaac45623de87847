/**
 * Test fixture: HTTP/2 attacks that every listener built on H2_SERVER_LIMITS must bound, sent on a raw connection
 * (raw-h2.fixture.ts: plaintext to a sidecar, or TLS to a gateway). Each resolves once the server has answered the
 * attack (or closed); the test asserts what it answered and that the listener still serves.
 */
import http2 from 'node:http2';
import { FLAG, FRAME, frame, requestBlock, rstStream } from './http2/raw-h2.fixture.js';
import type { RawH2 } from './http2/raw-h2.fixture.js';

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

/** Streams opened at once, and how many of them are over the advertised limit of 256. */
const STREAMS_OPENED = 300;
export const STREAMS_OVER_LIMIT = STREAMS_OPENED - 256;

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

/** More streams than advertised: resolves with how many the server refused with RST_STREAM(REFUSED_STREAM). */
export async function openTooManyStreams(c: RawH2, authority: string): Promise<number> {
  const block = requestBlock(authority);
  const frames: Buffer[] = [];
  for (let i = 0; i < STREAMS_OPENED; i++) frames.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1 + 2 * i, block));
  await c.write(Buffer.concat(frames));
  while (c.count(FRAME.RST_STREAM, NGHTTP2_REFUSED_STREAM) < STREAMS_OVER_LIMIT && !c.closed) await tick();
  return c.count(FRAME.RST_STREAM, NGHTTP2_REFUSED_STREAM);
}

/**
 * Rapid reset (CVE-2023-44487): streams opened and cancelled at once, a thousand a round, until the server sends
 * GOAWAY or closes (or 20 rounds pass); resolves once it has done either, with whether the session was ended.
 */
export async function rapidReset(c: RawH2, authority: string): Promise<boolean> {
  const block = requestBlock(authority);
  for (let round = 0; round < 20 && !c.closed && c.goaway() === undefined; round++) {
    const frames: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = 1 + 2 * (round * 1000 + i);
      frames.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, block), rstStream(id, NGHTTP2_CANCEL));
    }
    await c.write(Buffer.concat(frames));
  }
  while (c.goaway() === undefined && !c.closed) await tick();
  return c.goaway() !== undefined || c.closed;
}

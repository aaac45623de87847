/**
 * The limits every proxy listener that speaks HTTP/2 applies to its clients, against HTTP/2's known attacks. Node's
 * HTTP/2 (nghttp2 1.6x in Node 20.20) already answers several with GOAWAY; these options bound the rest:
 *   rapid reset (CVE-2023-44487): Envoy's premature-reset rule (below: a session whose streams are mostly reset
 *     by the client before their answer is closed), nghttp2's own stream-reset rate limit (GOAWAY), and
 *     maxSessionRejectedStreams for streams refused past the concurrency limit.
 *   CONTINUATION flood (CVE-2024-27983 and kin): nghttp2's cap on CONTINUATION frames per header block, plus the
 *     header list size and pair count below: a header block that grows past them is refused.
 *   HPACK bomb: maxHeaderListSize counts decoded bytes, and maxSessionMemory bounds the dynamic table and everything
 *     a session holds; past it new streams are refused.
 *   SETTINGS and PING floods: nghttp2 closes a session whose unacknowledged replies queue up (its outbound flood
 *     limit); maxSettings bounds entries per frame, maxOutstandingPings our own pings.
 *   zero-window stall: an answer the client does not take pauses its upstream (no buffering past the stream's
 *     high-water mark), and a session with no traffic for SESSION_IDLE_MS is closed.
 *   more streams than advertised: refused with RST_STREAM(REFUSED_STREAM) by nghttp2.
 *   invalid frames: maxSessionInvalidFrames, then GOAWAY.
 */
import http2 from 'node:http2';

export const SESSION_IDLE_MS = 300_000;
/** Envoy's premature_reset_total_stream_count: from this many streams on, a session mostly reset early is closed. */
export const PREMATURE_RESET_MIN_STREAMS = 500;

const COUNTS = Symbol('stream-counts');
type Counted = http2.Http2Session & { [COUNTS]?: { streams: number; resets: number } };

function streamClosed(this: http2.ServerHttp2Stream): void {
  const session = this.session as Counted | undefined;
  if (session === undefined) return;
  const c = (session[COUNTS] ??= { streams: 0, resets: 0 });
  c.streams++;
  // Reset before the answer began: a client cancelling its own streams, or this proxy refusing them.
  if (this.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !this.headersSent) c.resets++;
  if (c.streams >= PREMATURE_RESET_MIN_STREAMS && c.resets * 2 > c.streams && !session.destroyed) session.destroy();
}

/** Counts a stream toward its session's premature-reset rule (Envoy's, against rapid reset). */
export function countStreamResets(stream: http2.ServerHttp2Stream): void {
  stream.once('close', streamClosed);
}

export const H2_SERVER_LIMITS: http2.ServerOptions = {
  settings: { maxConcurrentStreams: 256, maxHeaderListSize: 64 * 1024, enablePush: false, initialWindowSize: 1024 * 1024 },
  maxHeaderListPairs: 200,
  maxSessionMemory: 16,
  maxSessionInvalidFrames: 100,
  maxSessionRejectedStreams: 100,
  maxSettings: 32,
  maxOutstandingPings: 10,
};

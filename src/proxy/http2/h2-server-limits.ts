/**
 * The limits every proxy listener that speaks HTTP/2 applies to its clients, against HTTP/2's known attacks. Node's
 * HTTP/2 (nghttp2 1.6x in Node 20.20) already answers several with GOAWAY; these options bound the rest:
 *   rapid reset (CVE-2023-44487): nghttp2's stream-reset rate limit, and maxSessionRejectedStreams for streams
 *     refused past the concurrency limit; the session is closed with ENHANCE_YOUR_CALM.
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
import type http2 from 'node:http2';

export const SESSION_IDLE_MS = 300_000;

export const H2_SERVER_LIMITS: http2.ServerOptions = {
  settings: { maxConcurrentStreams: 256, maxHeaderListSize: 64 * 1024, enablePush: false, initialWindowSize: 1024 * 1024 },
  maxHeaderListPairs: 200,
  maxSessionMemory: 16,
  maxSessionInvalidFrames: 100,
  maxSessionRejectedStreams: 100,
  maxSettings: 32,
  maxOutstandingPings: 10,
};

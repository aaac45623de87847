/**
 * The push streams as connections: each a TLS socket negotiated with PUSH_ALPN, read a line at a time with a bounded
 * decoder, refused with an `error` line when its peer has no mesh certificate or its hello is refused, and closed
 * when it turns hostile (a line too long, not UTF-8 or not JSON, a second hello) or dead. What the lines mean is the
 * push server's (push-server.ts).
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';
import { WeftError } from '../errors.js';
import { LineDecoder, MAX_PROXY_MESSAGE_BYTES, PUSH_PING_INTERVAL_MS } from '../push/protocol.js';
import type { ProxyMessage } from '../push/protocol.js';
import type { ControlLog } from './control-log.js';
import type { ProxyConnection } from './push-connection.js';
import { sendMessageNow } from './push-lines.js';

export type HelloMessage = Extract<ProxyMessage, { type: 'hello' }>;

export interface PushStreamHandlers {
  /** A stream's hello from `peer`: the proxy's connection, or why the stream is refused. */
  hello(socket: Duplex, peer: string, msg: HelloMessage): ProxyConnection | string;
  /** Any later message on a stream whose hello was accepted. */
  message(conn: ProxyConnection, msg: ProxyMessage): void;
  /** The stream of an accepted connection closed. */
  gone(conn: ProxyConnection): void;
}

/** A push stream as the sweep sees it. */
interface LineStream {
  socket: Duplex;
  /** Set once the hello is accepted. */
  conn: ProxyConnection | undefined;
  /** Bytes came since the last sweep. */
  heard: boolean;
  silentSweeps: number;
  /** The writer's count of bytes handed over at the last sweep. */
  written: number;
  stalledSweeps: number;
  /** Refused: said why and ended; nothing more is read. */
  refused: boolean;
}

/** Sweeps in a row a stream may be silent, or its line stuck, before it is closed: three pings missed. */
const SILENT_SWEEPS = 3;

export class PushStreams {
  /** Every push stream accepted and not yet closed, before its hello too. */
  readonly #streams = new Set<LineStream>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly handlers: PushStreamHandlers,
    private readonly log: ControlLog,
    clock: Clock,
  ) {
    const beat = (): void => {
      this.sweep();
      this.#sweeper = clock.setTimeout(beat, PUSH_PING_INTERVAL_MS);
    };
    this.#sweeper = clock.setTimeout(beat, PUSH_PING_INTERVAL_MS);
  }

  accept(socket: Duplex, peer: string | undefined): void {
    const s: LineStream = { socket, conn: undefined, heard: true, silentSweeps: 0, written: 0, stalledSweeps: 0, refused: false };
    this.#streams.add(s);
    const gone = (): void => {
      this.#streams.delete(s);
      const { conn } = s;
      s.conn = undefined;
      if (conn) this.handlers.gone(conn);
    };
    socket.on('close', gone);
    socket.on('error', gone);
    if (!peer) {
      this.#refuse(s, 'the push stream needs mTLS with a mesh certificate');
      return;
    }
    const decoder = new LineDecoder((line) => {
      const msg = JSON.parse(line) as ProxyMessage;
      if (msg.type !== 'hello') {
        if (s.conn) this.handlers.message(s.conn, msg);
        return;
      }
      // One proxy per stream: a second hello would leave the first connection's state behind.
      if (s.conn) throw new WeftError('PUSH_FRAME_INVALID', 'a second hello on one push stream');
      const accepted = this.handlers.hello(socket, peer, msg);
      if (typeof accepted === 'string') this.#refuse(s, accepted);
      else s.conn = accepted;
    }, MAX_PROXY_MESSAGE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      s.heard = true;
      if (s.refused) return;
      try {
        decoder.push(chunk);
      } catch (err) {
        this.log.warn('push stream message refused', { peer, reason: (err as Error).message });
        socket.destroy();
      }
    });
  }

  /**
   * Closes the streams that are dead or hostile: heard nothing for SILENT_SWEEPS whole sweep intervals (a proxy
   * pings every PUSH_PING_INTERVAL_MS), or a line that made no progress for as long (a proxy that does not read
   * holds a send slot), or refused at the sweep before.
   */
  sweep(): void {
    for (const s of this.#streams) {
      s.silentSweeps = s.heard ? 0 : s.silentSweeps + 1;
      s.heard = false;
      const writer = s.conn?.writer;
      const stalled = writer !== undefined && !writer.idle && writer.written === s.written;
      s.stalledSweeps = stalled ? s.stalledSweeps + 1 : 0;
      s.written = writer?.written ?? 0;
      if (s.refused || s.silentSweeps >= SILENT_SWEEPS || s.stalledSweeps >= SILENT_SWEEPS) {
        if (!s.refused) this.log.warn('push stream closed: the proxy stopped answering or reading', { proxy: s.conn?.status.id ?? null, silent: s.silentSweeps >= SILENT_SWEEPS });
        s.socket.destroy();
        this.#streams.delete(s);
      }
    }
  }

  closeAll(): void {
    clearTimeout(this.#sweeper);
    for (const s of this.#streams) s.socket.destroy();
    this.#streams.clear();
  }

  /** Says why and ends the stream; the sweep after destroys it if the peer has not closed it by then. */
  #refuse(s: LineStream, message: string): void {
    s.refused = true;
    sendMessageNow(s.socket, { type: 'error', message });
    s.socket.end();
  }
}

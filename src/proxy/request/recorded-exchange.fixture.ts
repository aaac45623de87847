/**
 * A GET exchange for tests of the request layers: it records the answer (status, response headers, body text) or
 * the failure (status, reason, Envoy's flag), and `done` settles when either comes.
 */
import { Exchange } from './exchange.js';
import type { ResponseHeaders, UpstreamFailureEvent } from './exchange.js';

export class RecordedExchange extends Exchange {
  readonly method = 'GET';
  readonly query = '';
  readonly scheme = 'http';
  readonly port = 80;
  readonly headers: Record<string, string>;
  readonly body = null;
  readonly rawHeaders: string[];
  readonly headersSent = false;
  readonly sourceAddress = '127.0.0.1';
  readonly localAddress = '127.0.0.1';
  status = 0;
  responseHeaders: ResponseHeaders = {};
  text = '';
  failure = '';
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(
    readonly authority: string,
    readonly path = '/',
  ) {
    super();
    this.headers = { host: authority };
    this.rawHeaders = ['host', authority];
    this.done = new Promise((r) => (this.#resolve = r));
  }
  onHeaders(_ex: Exchange, status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.responseHeaders = headers;
  }
  onData(_ex: Exchange, chunk: Buffer): void {
    this.text += chunk.toString();
  }
  onEnd(): void {
    this.#resolve();
  }
  onError(_ex: Exchange, failure: UpstreamFailureEvent): void {
    this.status = failure.status;
    this.failure = failure.reason;
    this.addFlag(failure.flag);
    this.#resolve();
  }
}

/**
 * Mirroring (Envoy's request_mirror_policies): a copy of the request goes to each drawn mirror, fire-and-forget: its
 * answer is dropped and nothing about it reaches the client's response. The copy's authority gains `-shadow` before
 * any port, as Envoy does. A request with a body is copied once its body has ended, from the copy the retry buffer
 * keeps (retry-buffer.ts); a body that outgrew the buffer limit is not mirrored (Envoy drops that shadow too).
 */
import { selectMirrors } from '../../route/mirror.js';
import type { Mirror } from '../../route/mirror.js';
import { Exchange } from './exchange.js';
import type { Dispatch, Layer, ResponseHandler } from './exchange.js';
import type { HeaderBag } from '../../route/header-operations.js';
import type { BodyComplete } from './retry-buffer.js';

export function shadowAuthority(authority: string): string {
  const colon = authority.startsWith('[') ? authority.indexOf(']:') + 1 : authority.lastIndexOf(':');
  return colon > 0 ? `${authority.slice(0, colon)}-shadow${authority.slice(colon)}` : `${authority}-shadow`;
}

/** The mirrored copy: the original's request as routed, to the mirror's destination; its answer goes nowhere. */
class ShadowExchange extends Exchange implements BodyComplete {
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly query: string;
  readonly scheme: string;
  readonly port: number;
  readonly headers: Readonly<HeaderBag>;
  readonly body = null;
  readonly rawHeaders: readonly string[];
  readonly headersSent = false;
  readonly sourceAddress: string;
  readonly localAddress: string;
  private copy: Buffer | null = null;

  constructor(
    of: Exchange,
    mirror: Mirror,
    private readonly shadow: Dispatch,
  ) {
    super();
    this.method = of.method;
    this.authority = of.authority;
    this.path = of.path;
    this.query = of.query;
    this.scheme = of.scheme;
    this.port = of.port;
    this.headers = of.headers;
    this.rawHeaders = of.rawHeaders;
    this.sourceAddress = of.sourceAddress;
    this.localAddress = of.localAddress;
    this.cfg = of.cfg;
    this.extraHeaders = of.extraHeaders;
    this.removeHeaders = of.removeHeaders;
    this.route = of.route;
    this.destination = mirror;
    this.upstreamAuthority = shadowAuthority(of.upstreamAuthority);
    this.upstreamPath = of.upstreamPath;
    this.upstreamHeaders = of.upstreamHeaders;
  }

  override bodyForAttempt(): Buffer | null {
    return this.copy;
  }

  /** The original's body ended within the buffer limit: the copy goes now. */
  bodyComplete(body: Buffer): void {
    this.copy = body;
    this.shadow(this, this);
  }

  onHeaders(): void {}
  onData(): void {}
  onEnd(): void {}
  onError(): void {}
}

/** `shadow` is the path from endpoint choice on: a mirror is neither retried nor timed. */
export function mirrorRequest(shadow: Dispatch, random: () => number): Layer {
  return (next) => (ex, handler: ResponseHandler) => {
    const route = ex.route?.rule.route;
    if (route?.mirrors !== undefined && (ex.body === null || ex.retryBuffer !== undefined)) {
      for (const m of selectMirrors(route, random)) {
        const copy = new ShadowExchange(ex, m, shadow);
        if (ex.retryBuffer === undefined) shadow(copy, copy);
        else ex.retryBuffer.whenComplete(copy);
      }
    }
    next(ex, handler);
  };
}

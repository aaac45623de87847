/**
 * The innermost step: the chosen endpoint's keep-alive pool (mTLS that checks the peer's SPIFFE ID, or plaintext
 * when the destination's mode is DISABLE), one undici dispatch, and the answer handed to the layers above. undici's
 * handler events become the chain's ResponseHandler events; its controller is the attempt's UpstreamControl.
 */
import type { Dispatcher } from 'undici';
import { isWeftError } from '../../errors.js';
import type { EndpointPools } from '../upstream/endpoint-pools.js';
import { targetOf } from '../upstream/upstream-target.js';
import { upstreamFailure } from '../http/upstream-error.js';
import type { Dispatch, Exchange, ResponseHandler, UpstreamControl, UpstreamFailureEvent } from './exchange.js';
import { headersForUpstream } from './upstream-headers.js';

const CONNECT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Which of the chain's failure kinds an upstream error is, with the one rescue function's status and reason. */
export function failureOf(err: unknown): UpstreamFailureEvent {
  const { status, reason } = upstreamFailure(err);
  const code = (err as { code?: string } | null)?.code ?? '';
  // An originated TLS handshake that fails (tls-origination.ts) never connected either: Envoy's UF.
  if (isWeftError(err, 'PEER_IDENTITY_MISMATCH') || isWeftError(err, 'UPSTREAM_UNREACHABLE') || isWeftError(err, 'TLS_ORIGINATION_FAILED') || CONNECT_CODES.has(code)) {
    return { kind: 'connect', status, reason, flag: 'UF' };
  }
  if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', status, reason, flag: 'UT' };
  if (status === 502) return { kind: 'protocol', status, reason, flag: 'UPE' };
  return { kind: 'reset', status, reason, flag: 'UC' };
}

export class UpstreamAttempt implements Dispatcher.DispatchHandler, UpstreamControl {
  private controller: Dispatcher.DispatchController | undefined;
  private abortedWith: Error | undefined;

  constructor(
    private readonly ex: Exchange,
    private readonly handler: ResponseHandler,
  ) {
    ex.control = this;
  }

  pause(): void {
    this.controller?.pause();
  }
  resume(): void {
    this.controller?.resume();
  }
  abort(reason: Error): void {
    if (this.controller === undefined) this.abortedWith = reason;
    else this.controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortedWith !== undefined) controller.abort(this.abortedWith);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.handler.onHeaders(this.ex, statusCode, headers, this);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onData(this.ex, chunk, this);
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.handler.onEnd(this.ex, trailers);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.handler.onError(this.ex, failureOf(err));
  }
}

export function connectUpstream(pools: EndpointPools): Dispatch {
  return (ex, handler) => {
    const ep = ex.upstream!;
    ex.upstreamWorkload = ep.workload;
    const binding = ex.binding!;
    const settings = binding.httpPool;
    // Only a cluster with `proxyProtocol` keeps its connections per client connection.
    const pool = pools.get(targetOf(ep, binding.sni, binding.config.policy.tls?.mode), settings, settings.proxyProtocol === null ? undefined : ex.proxiedClient());
    pool.dispatch(
      {
        path: ex.upstreamPath,
        method: ex.method as Dispatcher.HttpMethod,
        headers: headersForUpstream(ex),
        body: ex.bodyForAttempt(),
        // maxRequestsPerConnection: 1 (Envoy's way to turn keep-alive off): every request closes its connection.
        reset: binding.httpPool.maxRequestsPerConnection === 1,
      },
      new UpstreamAttempt(ex, handler),
    );
  };
}

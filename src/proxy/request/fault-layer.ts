/**
 * Fault injection (Envoy's fault filter as Istio configures it): hold the request for the delay (`DI`), then, or
 * instead, answer with the abort status (`FI`) without going upstream. The draws use the injected random source.
 */
import { decideFault, NO_FAULT } from '../../route/fault.js';
import type { FaultDecision } from '../../route/fault.js';
import { replyLocally } from './exchange.js';
import type { Dispatch, Exchange, Layer, ResponseHandler } from './exchange.js';
import type { Expirable, RequestTimers } from './request-timers.js';

/** Envoy's body for an injected abort. */
const ABORT_BODY = 'fault filter abort';

function abortOrGo(next: Dispatch, ex: Exchange, handler: ResponseHandler, abort: FaultDecision['abort']): void {
  if (ex.closed) return;
  if (abort === undefined) {
    next(ex, handler);
    return;
  }
  if (abort.grpcStatus !== undefined) replyLocally(ex, handler, 200, '', { 'content-type': 'application/grpc', 'grpc-status': String(abort.grpcStatus) }, 'FI');
  else replyLocally(ex, handler, abort.httpStatus, ABORT_BODY, undefined, 'FI');
}

/** A request held by a fault delay. */
class Delayed implements Expirable {
  constructor(
    private readonly next: Dispatch,
    private readonly ex: Exchange,
    private readonly handler: ResponseHandler,
    private readonly abort: FaultDecision['abort'],
  ) {}
  expire(): void {
    abortOrGo(this.next, this.ex, this.handler, this.abort);
  }
}

export function injectFault(random: () => number, timers: RequestTimers): Layer {
  return (next) => (ex, handler) => {
    const fault = ex.route?.rule.route.fault;
    const decision = fault === undefined ? NO_FAULT : decideFault(fault, random);
    if (decision === NO_FAULT) {
      next(ex, handler);
      return;
    }
    if (decision.delayMs > 0) {
      ex.addFlag('DI');
      timers.after(decision.delayMs, new Delayed(next, ex, handler, decision.abort));
      return;
    }
    abortOrGo(next, ex, handler, decision.abort);
  };
}

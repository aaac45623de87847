/**
 * Istio's fault injection as Envoy's fault filter decides it: a delay with its percentage, and independently an abort
 * with its percentage (a request may be both delayed and then aborted). A percentage that is not set injects
 * nothing. `random` returns [0, 1) and is injected so tests decide every draw.
 */
import type { FaultPolicy } from '../proxyconfig/types.js';

export interface FaultDecision {
  /** Milliseconds to hold the request before going on; 0 for none. */
  readonly delayMs: number;
  /** Answer with this instead of forwarding. */
  readonly abort: { readonly httpStatus: number; readonly grpcStatus: number | undefined } | undefined;
}

export const NO_FAULT: FaultDecision = Object.freeze({ delayMs: 0, abort: undefined });

/** True with probability percent / 100. */
export function drawPercent(percent: number, random: () => number): boolean {
  return percent >= 100 || (percent > 0 && random() * 100 < percent);
}

export function decideFault(fault: FaultPolicy | undefined, random: () => number): FaultDecision {
  if (!fault) return NO_FAULT;
  const delayMs = fault.delay && drawPercent(fault.delay.percent, random) ? fault.delay.fixedDelayMs : 0;
  const a = fault.abort;
  const abort =
    a && drawPercent(a.percent, random)
      ? // A gRPC abort answers HTTP 200 with the status in grpc-status, as Envoy does.
        { httpStatus: a.grpcStatus !== undefined ? 200 : (a.httpStatus ?? 503), grpcStatus: a.grpcStatus }
      : undefined;
  return delayMs === 0 && abort === undefined ? NO_FAULT : { delayMs, abort };
}

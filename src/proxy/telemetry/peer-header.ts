/**
 * Headers a proxy replaces on the way on. The peer-workload header: a source proxy names its workload to the
 * destination proxy, which reads it for telemetry and never passes it to the app; an app's own copy never leaves its
 * sidecar. With tracing on, the caller's trace context too: the proxy sends its own hop's context instead.
 */
import { PEER_WORKLOAD_HEADER } from './peer-table.js';
import { TRACE_HEADERS } from './trace-context.js';

const ONLY_PEER: ReadonlySet<string> = new Set([PEER_WORKLOAD_HEADER]);
const PEER_AND_TRACE: ReadonlySet<string> = new Set([PEER_WORKLOAD_HEADER, ...TRACE_HEADERS]);
/** Removal sets are a few shared constants (admission's), so each gains the headers once, not per request. */
const widened = [new WeakMap<ReadonlySet<string>, ReadonlySet<string>>(), new WeakMap<ReadonlySet<string>, ReadonlySet<string>>()] as const;

export function withoutPeerWorkload(remove: ReadonlySet<string> | undefined, traced = false): ReadonlySet<string> {
  const base = traced ? PEER_AND_TRACE : ONLY_PEER;
  if (remove === undefined || remove.size === 0) return base;
  const memo = widened[traced ? 1 : 0];
  let w = memo.get(remove);
  if (w === undefined) {
    w = new Set([...remove, ...base]);
    memo.set(remove, w);
  }
  return w;
}

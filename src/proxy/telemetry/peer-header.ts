/**
 * The peer-workload header between proxies: a source proxy names its workload to the destination proxy, which reads
 * it for telemetry and never passes it to the app; an app's own copy never leaves its sidecar.
 */
import { PEER_WORKLOAD_HEADER } from './peer-table.js';

const ONLY_PEER_HEADER: ReadonlySet<string> = new Set([PEER_WORKLOAD_HEADER]);
/** Removal sets are a few shared constants (admission's), so each gains the header once, not per request. */
const widened = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

export function withoutPeerWorkload(remove: ReadonlySet<string> | undefined): ReadonlySet<string> {
  if (remove === undefined || remove.size === 0) return ONLY_PEER_HEADER;
  if (remove.has(PEER_WORKLOAD_HEADER)) return remove;
  let w = widened.get(remove);
  if (w === undefined) {
    w = new Set([...remove, PEER_WORKLOAD_HEADER]);
    widened.set(remove, w);
  }
  return w;
}


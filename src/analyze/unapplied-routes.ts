/**
 * VirtualService settings weft accepts, as Istio's API has them, but does not apply (WEFT0131). docs/traffic.md
 * ("Not applied, and why") says why each is not.
 */
import type { VirtualServiceSpec } from '../config/kinds/virtual-service.js';
import { unappliedCheck } from './unapplied-fields.js';
import type { Unapplied } from './unapplied-fields.js';

function collect(spec: VirtualServiceSpec): Unapplied[] {
  const out: Unapplied[] = [];
  (spec.http ?? []).forEach((r, i) => {
    (r.match ?? []).forEach((m, j) => {
      if (m.statPrefix !== undefined) out.push({ path: ['http', i, 'match', j, 'statPrefix'], what: 'statPrefix: no per-route statistics are kept; the route shows in `weft route check` and access logs by its source' });
    });
    if (r.retries?.retryRemoteLocalities === true) {
      out.push({ path: ['http', i, 'retries', 'retryRemoteLocalities'], what: 'retryRemoteLocalities: a retry picks its endpoint as the first try does, without moving to another locality' });
    }
  });
  (spec.tcp ?? []).forEach((r, i) => {
    (r.match ?? []).forEach((m, j) => {
      if (m.sourceSubnet !== undefined) out.push({ path: ['tcp', i, 'match', j, 'sourceSubnet'], what: 'sourceSubnet: a TCP route matches whatever address the client connects from' });
    });
  });
  return out;
}

export const checkUnappliedRoutes = unappliedCheck<VirtualServiceSpec>('VirtualService', 'WEFT0131', 'docs/traffic.md, "Not applied, and why"', collect);

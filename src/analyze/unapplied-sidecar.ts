/**
 * Sidecar settings weft accepts, as Istio's API has them, but does not apply (WEFT0133). docs/egress.md ("Not
 * applied, and why") says why each is not.
 */
import type { SidecarSpec } from '../config/kinds/sidecar.js';
import { unappliedCheck } from './unapplied-fields.js';
import type { Unapplied } from './unapplied-fields.js';

function collect(spec: SidecarSpec): Unapplied[] {
  const out: Unapplied[] = [];
  (spec.ingress ?? []).forEach((_, i) => {
    out.push({ path: ['ingress', i], what: "an ingress listener: inbound traffic reaches the workload on its Service's ports, with the mesh's mTLS, whatever the listener says" });
  });
  if (spec.inboundConnectionPool !== undefined) out.push({ path: ['inboundConnectionPool'], what: "inboundConnectionPool: the sidecar's connections to its own workload take no pool limits" });
  (spec.egress ?? []).forEach((l, i) => {
    if (l.bind !== undefined) out.push({ path: ['egress', i, 'bind'], what: "an egress listener's bind: outbound traffic is captured on every address" });
    if (l.captureMode !== undefined && l.captureMode !== 'DEFAULT') out.push({ path: ['egress', i, 'captureMode'], what: `captureMode ${l.captureMode}: outbound traffic is captured as the pod's isolation mode does it` });
  });
  if (spec.outboundTrafficPolicy?.egressProxy !== undefined) {
    out.push({ path: ['outboundTrafficPolicy', 'egressProxy'], what: 'outboundTrafficPolicy.egressProxy: traffic to unknown hosts under ALLOW_ANY goes to them directly' });
  }
  return out;
}

export const checkUnappliedSidecar = unappliedCheck<SidecarSpec>('Sidecar', 'WEFT0133', 'docs/egress.md, "Not applied, and why"', collect);

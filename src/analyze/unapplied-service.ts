/**
 * Kubernetes Service settings that Istio gives a meaning in the mesh and weft accepts without applying (WEFT0137).
 * Every other ServiceSpec field is accepted so that manifests written for a cluster load unchanged, and means no
 * more to the mesh in Istio than in weft. docs/egress.md ("Not applied, and why (Service)") says why.
 */
import type { ServiceSpec } from '../config/kinds/service.js';
import { unappliedCheck } from './unapplied-fields.js';
import type { Unapplied } from './unapplied-fields.js';

function collect(spec: ServiceSpec): Unapplied[] {
  const out: Unapplied[] = [];
  if (spec.type === 'ExternalName' || spec.externalName !== undefined) {
    out.push({ path: [spec.type === 'ExternalName' ? 'type' : 'externalName'], what: 'an ExternalName Service: its host is no alias of the external name and has no endpoints (a ServiceEntry with resolution DNS is)' });
  }
  if (spec.trafficDistribution !== undefined) out.push({ path: ['trafficDistribution'], what: "trafficDistribution: endpoints are balanced by the DestinationRule's localityLbSetting, as without it" });
  return out;
}

export const checkUnappliedService = unappliedCheck<ServiceSpec>('Service', 'WEFT0137', 'docs/egress.md, "Not applied, and why (Service)"', collect);

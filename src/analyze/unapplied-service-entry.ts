/**
 * ServiceEntry settings weft accepts, as Istio's API has them, but does not apply (WEFT0134). docs/egress.md ("Not
 * applied, and why (ServiceEntry)") says why each is not.
 */
import type { ServiceEntrySpec } from '../config/kinds/service-entry.js';
import { unappliedCheck } from './unapplied-fields.js';
import type { Unapplied } from './unapplied-fields.js';

/** Endpoint fields the registry does not carry: an entry's endpoints are addresses and ports only. */
const ENDPOINT_FIELDS: ReadonlyArray<{ field: 'labels' | 'network' | 'locality' | 'weight' | 'serviceAccount'; what: string }> = [
  { field: 'labels', what: "an endpoint's labels: DestinationRule subsets select no endpoint of a ServiceEntry" },
  { field: 'network', what: "an endpoint's network: every endpoint is dialled directly" },
  { field: 'locality', what: "an endpoint's locality: an entry's endpoints take no locality-aware balancing" },
  { field: 'weight', what: "an endpoint's weight: an entry's endpoints are picked round robin, each equally" },
  { field: 'serviceAccount', what: "an endpoint's serviceAccount: an entry's endpoints are reached without mesh mTLS, so no identity is checked" },
];

function collect(spec: ServiceEntrySpec): Unapplied[] {
  const out: Unapplied[] = [];
  (spec.endpoints ?? []).forEach((e, i) => {
    for (const f of ENDPOINT_FIELDS) if (e[f.field] !== undefined) out.push({ path: ['endpoints', i, f.field], what: f.what });
  });
  if (spec.workloadSelector !== undefined) out.push({ path: ['workloadSelector'], what: "workloadSelector: the entry's hosts get no endpoints from Workloads" });
  if (spec.subjectAltNames !== undefined) out.push({ path: ['subjectAltNames'], what: "subjectAltNames: an entry's endpoints are reached without mesh mTLS, so no certificate is checked against them (a DestinationRule's tls.subjectAltNames is)" });
  return out;
}

export const checkUnappliedServiceEntry = unappliedCheck<ServiceEntrySpec>('ServiceEntry', 'WEFT0134', 'docs/egress.md, "Not applied, and why (ServiceEntry)"', collect);

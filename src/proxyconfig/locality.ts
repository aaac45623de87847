/**
 * A workload's locality as Istio reads it, `region/zone/subzone`: the `istio-locality` label (dots, since a label
 * value cannot hold `/`), else the labels `topology.kubernetes.io/region`, `topology.kubernetes.io/zone` and
 * `topology.istio.io/subzone` (Kubernetes puts the first two on nodes; weft has no nodes, so a Workload carries
 * them itself). Shared by the control plane, which writes each endpoint's locality, and the proxy, which reads its
 * own from its labels.
 */
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const SUBZONE_LABEL = 'topology.istio.io/subzone';
const ISTIO_LOCALITY_LABEL = 'istio-locality';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

/** undefined: the workload says nothing of where it is. */
export function localityOf(labels: Readonly<Record<string, string>>): string | undefined {
  const own = labels[ISTIO_LOCALITY_LABEL];
  if (own !== undefined && own !== '') return own.split('.').slice(0, 3).join('/');
  const parts = [labels[REGION_LABEL] ?? '', labels[ZONE_LABEL] ?? '', labels[SUBZONE_LABEL] ?? ''];
  if (parts.every((p) => p === '')) return undefined;
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.join('/');
}

export function parseLocality(locality: string | undefined): Locality {
  const [region = '', zone = '', subzone = ''] = (locality ?? '').split('/');
  return { region, zone, subzone };
}

/**
 * Istio's LocalityMatch: `pattern` is `region[/zone[/subzone]]`, any part `*`, a missing part matching anything
 * (`us-west` covers every zone of the region).
 */
export function localityMatches(pattern: string, locality: Locality): boolean {
  const want = pattern.split('/');
  const have = [locality.region, locality.zone, locality.subzone];
  for (let i = 0; i < want.length && i < 3; i++) {
    if (want[i] === '*') continue;
    if (want[i] !== have[i]) return false;
  }
  return true;
}

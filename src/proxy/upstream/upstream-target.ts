/**
 * Where a mesh endpoint is dialled, and how: the address and port of its sidecar's inbound listener, with mTLS (the
 * SNI and the SPIFFE ID to verify) or in plaintext. Connection pools are kept per target.
 */
import type { ClientTlsPolicy, Endpoint } from '../../proxyconfig/types.js';
import type { ClusterBinding } from '../config/balanced-port.js';

type ClientTlsMode = ClientTlsPolicy['mode'];

export interface UpstreamTarget {
  address: string;
  port: number;
  /** Undefined for plaintext. */
  tls?: { sni: string; spiffeId: string };
}

/**
 * Where requests to an endpoint go: mTLS to its sidecar's inbound port, or plaintext there when the destination's
 * mode is DISABLE (auto mTLS) or the DestinationRule says `tls.mode: DISABLE` (the destination must then accept
 * plaintext: PERMISSIVE, or DISABLE; a STRICT one refuses the connection, as in Istio). A rule's ISTIO_MUTUAL asks
 * for mTLS whatever auto mTLS would choose, as in Istio: the way to reach a pod without a sidecar (an egress
 * gateway's ISTIO_MUTUAL server) with the mesh identities.
 */
export function targetOf(ep: Endpoint, sni: string, ruleMode?: ClientTlsMode | null): UpstreamTarget {
  return endpointMtls(ep, ruleMode)
    ? { address: ep.address, port: ep.inboundPort, tls: { sni, spiffeId: ep.spiffeId } }
    : { address: ep.address, port: ep.inboundPort };
}

/** Whether a connection to the endpoint is mTLS: the cluster's DestinationRule mode first, else auto mTLS. */
export function endpointMtls(ep: Endpoint, ruleMode: ClientTlsMode | null | undefined): boolean {
  if (ruleMode === 'DISABLE') return false;
  if (ruleMode === 'ISTIO_MUTUAL') return true;
  return ep.mtls;
}

/** Two targets with the same key share a pool (given the same cluster settings). */
export function targetKey(t: UpstreamTarget): string {
  return t.tls ? `${t.address}:${t.port}|${t.tls.sni}|${t.tls.spiffeId}` : `${t.address}:${t.port}`;
}

/** Every endpoint of the clusters, each as its cluster's tls mode and SNI dial it: the pools a config keeps live. */
export function* clusterTargets(clusters: Iterable<ClusterBinding>): Iterable<UpstreamTarget> {
  for (const c of clusters) {
    for (const ep of c.endpoints.values()) yield targetOf(ep, c.sni, c.config.policy.tls?.mode);
  }
}

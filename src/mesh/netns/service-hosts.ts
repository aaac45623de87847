/**
 * Service names for pods whose apps use the standard resolver: each Service gets a virtual address (VIP) from a
 * subnet no interface holds, and each pod gets an /etc/hosts (`/etc/netns/<netns>/hosts`, which `ip netns exec`
 * mounts over /etc/hosts) naming every service at its VIP. A connection to a VIP is captured by the pod's sidecar,
 * which maps VIP:port back to the service. Written at pod start: services applied later are not in it.
 */
import { formatIPv4, parseCidr } from './pod-subnet.js';

export interface ServiceName {
  namespace: string;
  name: string;
}

export interface ServiceVip extends ServiceName {
  vip: string;
  /** name.namespace.svc.<domain> */
  host: string;
}

/** One VIP per service, in namespace/name order from the subnet's .1; the same services always get the same VIPs. */
export function allocateServiceVips(services: readonly ServiceName[], subnetCidr: string, clusterDomain: string): ServiceVip[] {
  const subnet = parseCidr(subnetCidr);
  const capacity = 2 ** (32 - subnet.prefix) - 2;
  const sorted = [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  if (sorted.length > capacity) throw new RangeError(`${sorted.length} services do not fit the service subnet ${subnetCidr} (${capacity} addresses)`);
  return sorted.map((s, i) => ({ ...s, vip: formatIPv4(subnet.network + 1 + i), host: `${s.name}.${s.namespace}.svc.${clusterDomain}` }));
}

/** The hosts file of a pod in `podNamespace`: short names only for services of its own namespace, as Kubernetes' search path. */
export function podHostsFile(vips: readonly ServiceVip[], podNamespace: string, podName: string, podIP: string): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${podIP}\t${podName}`];
  for (const v of vips) {
    const names = [v.host, `${v.name}.${v.namespace}.svc`, `${v.name}.${v.namespace}`];
    if (v.namespace === podNamespace) names.push(v.name);
    lines.push(`${v.vip}\t${names.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `vip=host,...`: what the sidecar is told (WEFT_SERVICE_VIPS). */
export function formatServiceVips(vips: readonly ServiceVip[]): string {
  return vips.map((v) => `${v.vip}=${v.host}`).join(',');
}

/**
 * What a pod's resolver reads: its own /etc/hosts and /etc/resolv.conf, written to `/etc/netns/<netns>/`, which
 * `ip netns exec` mounts over the machine's for everything run in the pod. Service names are not in them: the
 * resolver asks 127.0.0.1, the pod's capture rules send that query to the sidecar's DNS proxy, and the sidecar
 * answers from its live config (so services applied after start resolve) and forwards the rest upstream.
 */
import { parseIPv4 } from './pod-subnet.js';

/** localhost and the pod's own name, as a container runtime writes them. */
export function podHostsFile(podName: string, podIP: string): string {
  return ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${podIP}\t${podName}`, ''].join('\n');
}

/** Kubernetes' layout for a pod in `namespace`: short names search its namespace first, ndots:5. */
export function podResolvConf(namespace: string, clusterDomain: string): string {
  return [
    'nameserver 127.0.0.1',
    `search ${namespace}.svc.${clusterDomain} svc.${clusterDomain} ${clusterDomain}`,
    'options ndots:5',
    '',
  ].join('\n');
}

/** The `nameserver` addresses of a resolv.conf, in order. */
export function resolvConfNameservers(text: string): string[] {
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === 'nameserver' && value) servers.push(value);
  }
  return servers;
}

/**
 * The machine's resolvers a pod can reach: IPv4 only (pods have no IPv6) and not loopback (the pod's 127.0.0.1 is
 * its own). Behind systemd-resolved (127.0.0.53) the real ones are in its own file, as kubelet reads them.
 */
export function upstreamNameservers(read: (file: string) => string | undefined): string[] {
  for (const file of ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']) {
    const usable = resolvConfNameservers(read(file) ?? '').filter((a) => {
      const n = parseIPv4(a);
      return n !== undefined && n >>> 24 !== 127;
    });
    if (usable.length > 0) return usable;
  }
  return [];
}

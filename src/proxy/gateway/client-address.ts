/**
 * The client's address at the ingress gateway, by Envoy's rules for an edge proxy (`use_remote_address: true`) with
 * Istio's `gatewayTopology.numTrustedProxies` as `xff_num_trusted_hops`: with N > 0 trusted proxies in front, the
 * client is the Nth X-Forwarded-For entry from the right (the entries those proxies appended); with fewer than N
 * entries, or one that is not an IP address, or N = 0, it is the peer that connected. This is what `remote.ip` and
 * `remoteIpBlocks` see and what the gateway sends upstream as x-envoy-external-address.
 */
import { isIP } from 'node:net';

export function trustedClientAddress(forwardedFor: string | string[] | undefined, peer: string, numTrustedProxies: number): string {
  if (numTrustedProxies === 0 || forwardedFor === undefined) return peer;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  if (entries.length < numTrustedProxies) return peer;
  const candidate = entries[entries.length - numTrustedProxies]!.trim();
  return isIP(candidate) !== 0 ? candidate : peer;
}

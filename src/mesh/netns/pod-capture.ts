/**
 * Everything that makes a netns pod's traffic go through its sidecar, as Istio's init container and injector do:
 * the pod's resolver files (names asked of 127.0.0.1), its capture rules (TCP and DNS to the sidecar), and what the
 * sidecar is told so it can serve them (its capture port, its DNS port, where to forward names it does not own).
 */
import fs from 'node:fs';
import { SIDECAR_DNS_PORT, SIDECAR_INBOUND_PORT } from '../../proxyconfig/types.js';
import { CAPTURE_OUTBOUND_PORT, SIDECAR_ADMIN_PORT, SIDECAR_UID } from './capture-rules.js';
import type { PodNetwork } from './pod-network.js';
import { podHostsFile, podResolvConf, upstreamNameservers } from './pod-resolver-files.js';

export async function capturePod(
  network: PodNetwork,
  pod: { netns: string; podIP: string },
  workload: { namespace: string; name: string },
  clusterDomain: string,
): Promise<void> {
  network.writeResolverFiles(pod, {
    hosts: podHostsFile(workload.name, pod.podIP),
    resolvConf: podResolvConf(workload.namespace, clusterDomain),
  });
  await network.capture(pod, {
    sidecarUid: SIDECAR_UID,
    outboundCapturePort: CAPTURE_OUTBOUND_PORT,
    inboundPort: SIDECAR_INBOUND_PORT,
    sidecarPorts: [SIDECAR_INBOUND_PORT, SIDECAR_ADMIN_PORT],
    dnsPort: SIDECAR_DNS_PORT,
  });
}

/** The machine's resolvers a pod's sidecar can reach through the bridge, read once per start. */
export function hostUpstreamNameservers(): string[] {
  return upstreamNameservers((file) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  });
}

/** A captured pod's sidecar settings; it runs under its own uid and cannot read the state directory. */
export function sidecarCaptureEnv(o: { trustBundlePem: string; dnsUpstream: readonly string[] }): NodeJS.ProcessEnv {
  return {
    WEFT_CAPTURE_OUTBOUND_PORT: String(CAPTURE_OUTBOUND_PORT),
    WEFT_DNS_PORT: String(SIDECAR_DNS_PORT),
    WEFT_DNS_UPSTREAM: o.dnsUpstream.join(','),
    WEFT_CA_BUNDLE_PEM: o.trustBundlePem,
  };
}

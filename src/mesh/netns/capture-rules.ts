/**
 * Transparent capture inside a pod's network namespace, as Istio's init container sets it up: the app's outgoing
 * TCP goes to the sidecar's capture port, its DNS queries go to the sidecar's DNS proxy, and TCP arriving at the
 * pod goes to the sidecar's inbound port. The sidecar runs under its own uid so its own connections (and its
 * upstream DNS queries) are not captured again. Rules live in the pod's namespace (nat table, chains WEFT_*), so
 * deleting the namespace deletes them. UDP other than DNS is not captured, as in Istio.
 */
import type { CommandRunner } from './ip-command.js';
import { SIDECAR_UID } from '../../config/kinds/workload.js';

export interface CaptureOptions {
  /** The uid the sidecar runs as (Istio's 1337). */
  sidecarUid: number;
  /** Where captured outgoing connections go (the sidecar listens on 127.0.0.1 there). */
  outboundCapturePort: number;
  /** The sidecar's inbound port: callers' sidecars dial it directly, everything else is redirected to it. */
  inboundPort: number;
  /** Ports of the sidecar reached directly from outside the pod (inbound, metrics and readiness). */
  sidecarPorts: readonly number[];
  /** The sidecar's DNS proxy (127.0.0.1, UDP): the app's queries to any port 53 go there. Undefined: no DNS capture. */
  dnsPort?: number;
}

export { SIDECAR_UID };
export const CAPTURE_OUTBOUND_PORT = 15002;
/** The sidecar's metrics and readiness port (Istio's 15020), scraped from outside the pod. */
export const SIDECAR_ADMIN_PORT = 15020;
export const CHAIN_OUTPUT = 'WEFT_OUTPUT';
export const CHAIN_PREROUTING = 'WEFT_PREROUTING';
const DNS_PORT = '53';

/** iptables argument lists, in order; each is run as `iptables <args>` inside the pod's namespace. */
export function captureRules(o: CaptureOptions): string[][] {
  const nat = (...args: string[]): string[] => ['-t', 'nat', ...args];
  const ports = [...new Set([o.inboundPort, ...o.sidecarPorts])].sort((a, b) => a - b);
  const dns = o.dnsPort === undefined ? undefined : String(o.dnsPort);
  return [
    nat('-N', CHAIN_OUTPUT),
    nat('-N', CHAIN_PREROUTING),
    // The sidecar's own connections (to other pods, the control plane, its app, upstream DNS) leave as they are.
    nat('-A', CHAIN_OUTPUT, '-m', 'owner', '--uid-owner', String(o.sidecarUid), '-j', 'RETURN'),
    // DNS before the loopback exemptions: the pod's resolv.conf names 127.0.0.1, and that query is the sidecar's.
    // TCP too, for answers too long for UDP; a resolver dialled directly is answered by the sidecar as well.
    ...(dns === undefined
      ? []
      : [
          nat('-A', CHAIN_OUTPUT, '-p', 'udp', '--dport', DNS_PORT, '-j', 'REDIRECT', '--to-ports', dns),
          nat('-A', CHAIN_OUTPUT, '-p', 'tcp', '--dport', DNS_PORT, '-j', 'REDIRECT', '--to-ports', dns),
        ]),
    // Inside the pod (loopback, its own address: the app's http_proxy, the sidecar's listeners) is not captured.
    nat('-A', CHAIN_OUTPUT, '-o', 'lo', '-j', 'RETURN'),
    nat('-A', CHAIN_OUTPUT, '-d', '127.0.0.0/8', '-j', 'RETURN'),
    nat('-A', CHAIN_OUTPUT, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(o.outboundCapturePort)),
    nat('-A', CHAIN_PREROUTING, '-i', 'lo', '-j', 'RETURN'),
    ...ports.map((p) => nat('-A', CHAIN_PREROUTING, '-p', 'tcp', '--dport', String(p), '-j', 'RETURN')),
    // Everything else arriving, an app port included, meets the sidecar's peer authentication first.
    nat('-A', CHAIN_PREROUTING, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(o.inboundPort)),
    nat('-A', 'OUTPUT', '-p', 'tcp', '-j', CHAIN_OUTPUT),
    ...(dns === undefined ? [] : [nat('-A', 'OUTPUT', '-p', 'udp', '--dport', DNS_PORT, '-j', CHAIN_OUTPUT)]),
    nat('-A', 'PREROUTING', '-p', 'tcp', '-j', CHAIN_PREROUTING),
  ];
}

/** Installs the rules in `netns` through `ip netns exec` (iptables has no namespace option of its own). */
export async function installCaptureRules(run: CommandRunner, ip: string, netns: string, o: CaptureOptions): Promise<void> {
  for (const args of captureRules(o)) await run(ip, ['netns', 'exec', netns, 'iptables', ...args]);
}

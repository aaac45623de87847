/**
 * Transparent capture inside a pod's network namespace, as Istio's init container sets it up: the app's outgoing
 * TCP goes to the sidecar's capture port, and TCP arriving at the pod goes to the sidecar's inbound port. The
 * sidecar runs under its own uid so its own connections are not captured again. Rules live in the pod's
 * namespace (nat table, chains WEFT_*), so deleting the namespace deletes them.
 */
import type { CommandRunner } from './ip-command.js';

export interface CaptureOptions {
  /** The uid the sidecar runs as (Istio's 1337). */
  sidecarUid: number;
  /** Where captured outgoing connections go (the sidecar listens on 127.0.0.1 there). */
  outboundCapturePort: number;
  /** The sidecar's inbound port: callers' sidecars dial it directly, everything else is redirected to it. */
  inboundPort: number;
  /** Ports of the sidecar reached directly from outside the pod (inbound, metrics and readiness). */
  sidecarPorts: readonly number[];
}

export const SIDECAR_UID = 1337;
export const CAPTURE_OUTBOUND_PORT = 15002;
/** The sidecar's metrics and readiness port (Istio's 15020), scraped from outside the pod. */
export const SIDECAR_ADMIN_PORT = 15020;
export const CHAIN_OUTPUT = 'WEFT_OUTPUT';
export const CHAIN_PREROUTING = 'WEFT_PREROUTING';

/** iptables argument lists, in order; each is run as `iptables <args>` inside the pod's namespace. */
export function captureRules(o: CaptureOptions): string[][] {
  const nat = (...args: string[]): string[] => ['-t', 'nat', ...args];
  const ports = [...new Set([o.inboundPort, ...o.sidecarPorts])].sort((a, b) => a - b);
  return [
    nat('-N', CHAIN_OUTPUT),
    nat('-N', CHAIN_PREROUTING),
    // The sidecar's own connections (to other pods, the control plane, its app) leave as they are.
    nat('-A', CHAIN_OUTPUT, '-m', 'owner', '--uid-owner', String(o.sidecarUid), '-j', 'RETURN'),
    // Inside the pod (loopback, its own address: the app's http_proxy, the sidecar's listeners) is not captured.
    nat('-A', CHAIN_OUTPUT, '-o', 'lo', '-j', 'RETURN'),
    nat('-A', CHAIN_OUTPUT, '-d', '127.0.0.0/8', '-j', 'RETURN'),
    nat('-A', CHAIN_OUTPUT, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(o.outboundCapturePort)),
    nat('-A', CHAIN_PREROUTING, '-i', 'lo', '-j', 'RETURN'),
    ...ports.map((p) => nat('-A', CHAIN_PREROUTING, '-p', 'tcp', '--dport', String(p), '-j', 'RETURN')),
    // Everything else arriving, an app port included, meets the sidecar's peer authentication first.
    nat('-A', CHAIN_PREROUTING, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(o.inboundPort)),
    nat('-A', 'OUTPUT', '-p', 'tcp', '-j', CHAIN_OUTPUT),
    nat('-A', 'PREROUTING', '-p', 'tcp', '-j', CHAIN_PREROUTING),
  ];
}

/** Installs the rules in `netns` through `ip netns exec` (iptables has no namespace option of its own). */
export async function installCaptureRules(run: CommandRunner, ip: string, netns: string, o: CaptureOptions): Promise<void> {
  for (const args of captureRules(o)) await run(ip, ['netns', 'exec', netns, 'iptables', ...args]);
}

/**
 * Whether this machine can run pods in network namespaces: Linux, root (creating namespaces and links needs
 * CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2 with `ip netns`, iptables (capture in pods, egress on the host), setpriv
 * (a pod's processes never keep root: pod-identity.ts), and the native addon that transparent capture uses.
 * Answers why not, in words a person can act on.
 */
import { originalDstUnavailableReason } from '../../proxy/capture/original-dst.js';
import type { CommandRunner } from './ip-command.js';
import { execCommand, findIpCommand, findSystemCommand } from './ip-command.js';

export interface NetnsProbe {
  platform: NodeJS.Platform;
  uid: number | undefined;
  ip: string | undefined;
  iptables: string | undefined;
  setpriv: string | undefined;
  run: CommandRunner;
  addonUnavailable: () => string | undefined;
}

export function systemProbe(): NetnsProbe {
  return {
    platform: process.platform,
    uid: process.getuid?.(),
    ip: findIpCommand(),
    iptables: findSystemCommand('iptables'),
    setpriv: findSystemCommand('setpriv'),
    run: execCommand,
    addonUnavailable: originalDstUnavailableReason,
  };
}

export type NetnsAvailability = { available: true; ip: string; iptables: string } | { available: false; reason: string };

export async function netnsAvailability(probe: NetnsProbe = systemProbe()): Promise<NetnsAvailability> {
  if (probe.platform !== 'linux') return { available: false, reason: `network namespaces need Linux (this is ${probe.platform})` };
  if (probe.uid !== 0) return { available: false, reason: `creating network namespaces needs root (running as uid ${probe.uid ?? 'unknown'})` };
  if (!probe.ip) return { available: false, reason: '`ip` (iproute2) is not installed' };
  if (!probe.iptables) return { available: false, reason: '`iptables` is not installed' };
  if (!probe.setpriv) return { available: false, reason: "`setpriv` (util-linux) is not installed, and pods' processes must not run as root" };
  try {
    await probe.run(probe.ip, ['netns', 'list']);
  } catch (err) {
    return { available: false, reason: `\`ip netns\` does not work here: ${(err as Error).message}` };
  }
  const addon = probe.addonUnavailable();
  if (addon !== undefined) return { available: false, reason: `the capture addon is unavailable: ${addon} (rebuild with npm ci on a machine with a C compiler)` };
  return { available: true, ip: probe.ip, iptables: probe.iptables };
}

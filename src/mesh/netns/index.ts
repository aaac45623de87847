/** Pods in network namespaces for `weft up --isolation=netns`: the public entry points. */
import { WeftError } from '../../errors.js';
import { netnsAvailability } from './netns-availability.js';
import type { NetnsProbe } from './netns-availability.js';
import { PodNetwork } from './pod-network.js';

export { PodNetwork } from './pod-network.js';
export type { Pod, PodNetworkOptions } from './pod-network.js';
export { netnsAvailability } from './netns-availability.js';
export type { NetnsAvailability, NetnsProbe } from './netns-availability.js';
export { DEFAULT_POD_RANGE } from './pod-subnet.js';
export { LEDGER_FILE } from './resource-ledger.js';
export { IP_FORWARD_SYSCTL } from './host-egress.js';

export { chooseIsolation } from './isolation-choice.js';
export type { Isolation, IsolationChoice } from './isolation-choice.js';

/** Opens the mesh's pod network, or refuses with NETNS_UNAVAILABLE saying why and what still works. */
export async function openPodNetwork(o: { stateDir: string; podRange?: string; log: (line: string) => void; probe?: NetnsProbe }): Promise<PodNetwork> {
  const a = await netnsAvailability(o.probe);
  if (!a.available) {
    throw new WeftError('NETNS_UNAVAILABLE', `--isolation=netns is unavailable: ${a.reason}. --isolation=none runs every workload on loopback, without isolation.`);
  }
  return PodNetwork.open({ stateDir: o.stateDir, ip: a.ip, iptables: a.iptables, podRange: o.podRange, log: o.log });
}

/**
 * Which isolation `weft up` runs: network namespaces whenever this machine can (secure by default), loopback when
 * asked or when it cannot, and then one plain line says why and that workloads are not isolated.
 */
import { netnsAvailability } from './netns-availability.js';
import type { NetnsProbe } from './netns-availability.js';

export type Isolation = 'none' | 'netns';

export interface IsolationChoice {
  isolation: Isolation;
  /** Set when netns was not asked for explicitly and cannot run: what to tell the person starting the mesh. */
  notice?: string;
}

/** `requested` is the --isolation flag; undefined means "netns if available". An explicit netns is checked at start. */
export async function chooseIsolation(requested: Isolation | undefined, probe?: NetnsProbe): Promise<IsolationChoice> {
  if (requested !== undefined) return { isolation: requested };
  const a = await netnsAvailability(probe);
  if (a.available) return { isolation: 'netns' };
  return {
    isolation: 'none',
    notice: `running every workload on loopback because ${a.reason}: workloads are NOT isolated from each other or from this machine`,
  };
}

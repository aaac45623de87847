import type { Clock } from '../clock.js';
import type { ControlClient } from '../cli/client.js';
import { WeftError } from '../errors.js';

interface ProxySync {
  id: string;
  connected: boolean;
  sentVersion: string | null;
  ackedVersion: string | null;
  lastNack: { version: string; reason: string } | null;
}

const POLL_MS = 100;

/** Polling must keep `weft up` waiting even when nothing else holds its event loop, so the timer is not unref'd. */
const pollClock: Clock = { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms) };

/**
 * "Up" means every proxy holds the config for the current state: connected, and the last version sent is the one
 * it acknowledged, twice in a row (a status change may still be on its way to the compile loop). A proxy that
 * rejected the version it was last sent will not converge by waiting (a gateway whose port is taken NACKs every
 * config), so that fails at once, with the proxy's own reason.
 */
export async function waitForConvergence(
  client: Pick<ControlClient, 'proxies'>,
  expected: number,
  timeoutMs: number,
  clock: Clock = pollClock,
): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  let streak = 0;
  let proxies: ProxySync[] = [];
  while (streak < 2) {
    if (clock.now() > deadline) {
      const waiting = proxies.filter((p) => !synced(p)).map((p) => p.id);
      const absent = expected - proxies.length;
      const who = [...waiting, ...(absent > 0 ? [`${absent} not connected`] : [])].join(', ');
      throw new WeftError('MESH_NOT_CONVERGED', `proxies did not all acknowledge their configuration in ${timeoutMs / 1000} s (${who || 'the config kept changing'}; see weft status)`);
    }
    await new Promise<void>((r) => clock.setTimeout(r, POLL_MS));
    proxies = (await client.proxies()) as ProxySync[];
    const rejected = proxies.find((p) => p.connected && p.lastNack !== null && p.lastNack.version === p.sentVersion);
    if (rejected) throw new WeftError('MESH_NOT_CONVERGED', `${rejected.id} rejected its configuration: ${rejected.lastNack!.reason}`);
    streak = proxies.filter(synced).length >= expected ? streak + 1 : 0;
  }
}

function synced(p: ProxySync): boolean {
  return p.connected && p.sentVersion !== null && p.sentVersion === p.ackedVersion;
}

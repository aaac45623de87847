import type { ControlClient } from '../cli/client.js';

interface ProxySync {
  connected: boolean;
  sentVersion: string | null;
  ackedVersion: string | null;
}

/**
 * "Up" means every proxy holds the config for the current state: connected, and the last version sent is the one
 * it acknowledged, twice in a row (a status change may still be on its way to the compile loop).
 */
export async function waitForConvergence(client: Pick<ControlClient, 'proxies'>, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let streak = 0;
  while (streak < 2) {
    if (Date.now() > deadline) throw new Error('proxies did not all acknowledge their configuration in time (see weft status)');
    await new Promise((r) => setTimeout(r, 100));
    const proxies = (await client.proxies()) as ProxySync[];
    const synced = proxies.filter((p) => p.connected && p.sentVersion !== null && p.sentVersion === p.ackedVersion).length;
    streak = synced >= expected ? streak + 1 : 0;
  }
}

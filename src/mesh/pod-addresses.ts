/**
 * Loopback-mode pod addresses. Every pod gets its own 127.x.y.z (all of 127/8 reaches the loopback device on
 * Linux), so apps keep their real ports (three reviews versions all on 9080) and sidecars keep 15001/15006.
 * The block is chosen once per state directory and kept, so a restarted mesh finds the same addresses.
 */
import fs from 'node:fs';
import { randomInt } from 'node:crypto';

export interface RuntimeChoices {
  /** First three octets, e.g. "127.93.17". */
  podBlock: string;
  controlPort: number;
}

export async function loadOrChooseRuntime(file: string, freePort: () => Promise<number>): Promise<RuntimeChoices> {
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RuntimeChoices>;
    if (typeof saved.podBlock === 'string' && /^127\.\d{1,3}\.\d{1,3}$/.test(saved.podBlock) && typeof saved.controlPort === 'number') {
      return { podBlock: saved.podBlock, controlPort: saved.controlPort };
    }
  } catch {
    // first start
  }
  const choices = { podBlock: `127.${randomInt(64, 128)}.${randomInt(0, 256)}`, controlPort: await freePort() };
  fs.writeFileSync(file, `${JSON.stringify(choices, null, 2)}\n`);
  return choices;
}

/** Pod addresses in a stable order: index 0 is .10, leaving the low addresses for the mesh's own processes. */
export function podAddress(block: string, index: number): string {
  if (index > 240) throw new RangeError('loopback mode runs at most 240 pods per mesh');
  return `${block}.${10 + index}`;
}

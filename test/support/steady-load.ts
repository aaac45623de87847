import type { MeshWorkloadEntry } from '../../src/mesh/mesh-file.js';
import { callAs } from './mesh-process.js';

export interface LoadResult {
  sent: number;
  failed: number;
  failures: string[];
}

/** `workers` clients each sending requests back to back until `stop()` resolves; every non-200 is a failure. */
export function steadyLoad(from: MeshWorkloadEntry, url: string, workers = 4): { stop(): Promise<LoadResult> } {
  let running = true;
  const result: LoadResult = { sent: 0, failed: 0, failures: [] };
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      result.sent++;
      try {
        const r = await callAs(from, url);
        if (r.status !== 200) {
          result.failed++;
          if (result.failures.length < 10) result.failures.push(`${r.status} ${r.body.slice(0, 120)}`);
        }
      } catch (err) {
        result.failed++;
        if (result.failures.length < 10) result.failures.push(String(err));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

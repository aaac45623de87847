/** Which core each party of a data-plane run is pinned to, and the sentence RESULTS.md says about it. */
import os from 'node:os';

export interface CpuLayout {
  /** The load generator and the upstream app. */
  loadCpu: number | undefined;
  clientCpu: number | undefined;
  serverCpu: number | undefined;
  pinning: string;
}

export function cpuLayout(cpus = os.availableParallelism()): CpuLayout {
  // Load generator and upstream share core 0; the proxies get the rest (one core each where there are enough).
  const loadCpu = cpus >= 2 ? 0 : undefined;
  const clientCpu = cpus >= 2 ? 1 : undefined;
  const serverCpu = cpus >= 3 ? 2 : clientCpu;
  const pinning =
    cpus >= 3
      ? 'taskset: load generator and upstream on CPU 0, client sidecar on CPU 1, server sidecar on CPU 2 (all threads, `taskset -a`).'
      : cpus === 2
        ? 'taskset: load generator and upstream on CPU 0; both sidecars of the path under test share CPU 1 (all threads, `taskset -a`). With 2 cores a pair cannot have a core per proxy; the same holds for the weft pair and the nginx pair.'
        : 'one CPU: nothing pinned.';
  return { loadCpu, clientCpu, serverCpu, pinning };
}

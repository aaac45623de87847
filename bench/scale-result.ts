/** What a scale run measured (scale-run.ts). */
import type { SelfTimeRow } from './cpu-profile.js';
import type { LaterChange } from './scale-later-changes.js';
import type { MemoryBreakdown } from './memory-breakdown.js';

export interface ScaleResult {
  services: number;
  workloads: number;
  proxies: number;
  sidecarScope: boolean;
  /** One proxy's config (wl-1) as JSON, and how many services it lists, once all are in sync. */
  configBytes: number;
  servicesPerProxy: number;
  applySeconds: number;
  connectSeconds: number;
  /** CPU seconds each replica used while the proxies connected and took their first configs. */
  connectCpuSeconds: number[];
  connected: number;
  /** Proxies whose ACK of the changed config was seen; ms from the apply call to the first poll that saw it. */
  acked: number;
  ackMs: { p50: number; p99: number; max: number } | undefined;
  /**
   * ms from the apply call to each proxy's ACK as the proxy itself timed it (its wall clock, the bench's machine):
   * exact, where ackMs is rounded up to the poll that saw it and includes the poll's own wait on a busy API.
   */
  proxyAcked: number;
  proxyAckMs: { p50: number; p99: number; max: number } | undefined;
  /** How long the apply call of the change took (admission, the store write), within the ACK times. */
  changeApplyMs: number;
  /**
   * CPU seconds each replica used from the apply to the last ACK seen (API polls included): what a change costs the
   * control plane, which a shared machine's load does not inflate as it does the wall-clock times.
   */
  changeCpuSeconds: number[];
  /** The pushes after the change, per replica: ms from the apply to when each ended, and its store read and compile. */
  changePushes: { replica: number; endedMs: number; debounceMs: number; snapshotMs: number; pushMs: number }[];
  /**
   * The change's window on the monotonic clock (µs, as `--cpu-prof` profiles time their samples), from the apply
   * call to the last ACK: bench/profile-window.ts reads a profile's top self time within it.
   */
  changeWindowUs: [number, number];
  /** CPU ms each group of processes (replica-N, simulated proxies, etcd) used in each 250 ms after the apply. */
  changeCpuTimeline: { atMs: number; cpuMs: Record<string, number> }[];
  changeCpuTotalsMs: Record<string, number>;
  /** Proxy-timed ACKs of the change per simulated-proxy process: which replica it talks to, how many, P50/last ms. */
  simAcks: { replica: number; proxies: number; acked: number; p50: number; lastMs: number }[];
  pollIntervalMs: number;
  controlRssIdleMiB: number;
  controlRssPeakMiB: number;
  /** Peak RSS from the apply of the change to the last ACK (the rest of the peak is reached while proxies connect). */
  controlRssChangePeakMiB: number;
  replicas: number;
  /** Peak RSS of each replica (one entry without replicas); controlRssPeakMiB is the largest. */
  replicaRssPeakMiB: number[];
  /**
   * Each replica's memory split (memory-sampler.ts), MiB: before the proxies connect, at its RSS peak, once all are
   * connected (just before the change), and at the end.
   */
  controlMemory: { replica: number; phase: 'idle' | 'peak' | 'connected' | 'end'; sample: MemoryBreakdown }[];
  /** Where it broke, if it did. */
  failure: string | undefined;
  /** Top self time of the control plane while the proxies connected. */
  profile: SelfTimeRow[];
  /** With `--changes N`: the changes after the first, timed the same way from the proxies' side. */
  laterChanges?: LaterChange[];
}

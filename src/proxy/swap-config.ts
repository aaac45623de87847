/**
 * What `weft proxy` does with each config it accepts, every step at the cost of what the config changed against the
 * one in force: endpoint state for the clusters it added and removed (installConfig), the pools and HTTP/2 sessions
 * of endpoints no cluster lists any more closed, and the DNS proxy's names made again only when the names or
 * addresses changed.
 * One function, so that the benchmark of a pushed delta (bench/proxy-delta-apply.ts) measures what the proxy runs.
 */
import type { CompiledProxyConfig } from './config/compiled-config.js';
import { DnsTable, servesSameNames } from './dns/dns-table.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import { installConfig } from './proxy-runtime.js';
import { clusterTargets } from './upstream/upstream-target.js';

/** The DNS proxy's names, when this proxy serves DNS; `table` is replaced when a config changes them. */
export interface ServedNames {
  table: DnsTable | undefined;
}

export function swapConfig(rt: Pick<ProxyRuntime, 'config' | 'endpoints' | 'pools' | 'h2Pools'>, next: CompiledProxyConfig, names?: ServedNames): void {
  const previous = rt.config;
  const changes = installConfig(rt, next);
  if (names !== undefined && (names.table === undefined || previous === undefined || !servesSameNames(previous.raw.outbound, next.raw.outbound))) {
    names.table = new DnsTable(next.raw.outbound);
  }
  const joined = [...clusterTargets(changes.joined)];
  const left = [...clusterTargets(changes.left)];
  rt.pools.retain(joined, left);
  rt.h2Pools.retain(joined, left);
}

/**
 * The handles every listener of a proxy shares (linkerd's style: config is data, the runtime is passed as handles).
 * `config` is swapped whole by the control stream; listeners read it once per request.
 */
import type { CompiledProxyConfig } from './config/compiled-config.js';
import { clusterChanges } from './config/cluster-changes.js';
import type { ClusterChanges } from './config/cluster-changes.js';
import type { EndpointPools } from './upstream/endpoint-pools.js';
import type { H2SessionPools } from './http2/h2-session-pool.js';
import type { WorkloadCertificate } from './tls/workload-certificate.js';
import type { Telemetry } from './telemetry/access-log.js';
import type { HostResolver } from './upstream/external-resolver.js';
import type { EndpointRegistry } from './balance/endpoint-registry.js';
import type { Clock } from '../clock.js';

export interface ProxyLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface ProxyRuntime {
  config: CompiledProxyConfig | undefined;
  readonly cert: WorkloadCertificate;
  readonly pools: EndpointPools;
  /** HTTP/2 sessions upstream, to mesh endpoints and to hosts outside the mesh alike. */
  readonly h2Pools: H2SessionPools;
  /** Balancer, breaker and outlier state per (cluster, endpoint), kept across config pushes. */
  readonly endpoints: EndpointRegistry;
  /** Uniform in [0, 1): weighted splits, fault and mirror percentages, balancing, retry jitter. */
  readonly random: () => number;
  /** Time for the request path's timers (timeouts, backoff, fault delays). */
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly log: ProxyLog;
  /** Names outside the mesh, resolved upstream (never through the pod's own DNS proxy). */
  readonly resolver: HostResolver;
  /** The pod's address: where the app listens in loopback mode. */
  readonly podIP: string;
  /** Ask the control plane to refetch JWKS documents (a token named a key we do not have). */
  requestJwksRefresh(uris: string[]): void;
}

export function jsonLog(component: string): ProxyLog {
  const line = (level: string, msg: string, fields?: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...fields })}\n`);
  };
  return { info: (m, f) => line('info', m, f), warn: (m, f) => line('warn', m, f) };
}

/**
 * Swap a new config in: endpoint state first, so that every cluster the new config names is there when it serves.
 * Only the clusters it changed against the config in force are applied, so the endpoint registry must hold what
 * `rt.config` names: a config is swapped in through here. Returns the change, for the pools (main.ts).
 */
export function installConfig(rt: Pick<ProxyRuntime, 'config' | 'endpoints'>, cfg: CompiledProxyConfig): ClusterChanges {
  const changes = clusterChanges(rt.config, cfg);
  rt.endpoints.apply(cfg.clusterEndpoints(changes.joined), changes.left.map((c) => c.config.name));
  rt.config = cfg;
  return changes;
}

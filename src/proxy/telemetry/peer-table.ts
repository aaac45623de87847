/**
 * Who is at either end of a request, as Istio's metric labels name it, from config alone: the telemetry section's
 * workloads by `namespace/name`, and by SPIFFE ID where only one workload runs as that identity. Built once per
 * config and cached by it.
 */
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_CLUSTER_ID, workloadMetadataOf } from '../../proxyconfig/telemetry-types.js';
import type { WorkloadMetadata } from '../../proxyconfig/telemetry-types.js';

/** The request header that names the sending proxy's workload (`namespace/name`) to the receiving one. */
export const PEER_WORKLOAD_HEADER = 'x-weft-peer-workload';

export class PeerTable {
  readonly clusterId: string;
  /** This proxy's own workload, and its `namespace/name` as the peer-workload header carries it. */
  readonly local: WorkloadMetadata;
  readonly localKey: string;
  readonly #byName = new Map<string, WorkloadMetadata>();
  /** Identities that only one workload runs as; a shared identity is absent (null) and needs the peer's name. */
  readonly #bySpiffe = new Map<string, WorkloadMetadata | null>();

  constructor(cfg: ProxyConfig) {
    this.clusterId = cfg.telemetry?.clusterId ?? DEFAULT_CLUSTER_ID;
    for (const w of cfg.telemetry?.workloads ?? []) {
      this.#byName.set(`${w.namespace}/${w.name}`, w);
      this.#bySpiffe.set(w.spiffeId, this.#bySpiffe.has(w.spiffeId) ? null : w);
    }
    const p = cfg.proxy;
    this.localKey = `${p.namespace}/${p.name}`;
    this.local = this.#byName.get(this.localKey) ?? workloadMetadataOf(p.namespace, p.name, p.spiffeId, p.labels);
  }

  /** A workload the config names (the endpoint an outbound request went to). */
  named(workload: string | undefined): WorkloadMetadata | undefined {
    return workload === undefined ? undefined : this.#byName.get(workload);
  }

  /**
   * The caller of an inbound request. `claimed` (the peer's PEER_WORKLOAD_HEADER) only chooses among workloads that
   * run as the verified identity; without a verified identity there is no caller to name. A peer the table does
   * not list (a gateway) is named by its identity: its service account is its workload, as for weft's gateways.
   */
  peer(spiffeId: string | undefined, claimed: string | undefined): WorkloadMetadata | undefined {
    if (spiffeId === undefined) return undefined;
    const byName = claimed === undefined ? undefined : this.#byName.get(claimed);
    if (byName !== undefined && byName.spiffeId === spiffeId) return byName;
    const only = this.#bySpiffe.get(spiffeId);
    if (only) return only;
    if (only === null) return undefined;
    const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(spiffeId);
    return m ? workloadMetadataOf(m[1]!, m[2]!, spiffeId, { app: m[2]! }) : undefined;
  }
}

const tables = new WeakMap<ProxyConfig, PeerTable>();

export function peerTableOf(cfg: ProxyConfig): PeerTable {
  let t = tables.get(cfg);
  if (t === undefined) {
    t = new PeerTable(cfg);
    tables.set(cfg, t);
  }
  return t;
}

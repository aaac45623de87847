/**
 * What a proxy reports of its own runtime state when the control plane asks (`weft proxy-config ... endpoints` and
 * `secrets`): the config version it runs, its certificate's public metadata (never key material: keys never leave
 * the proxy), and per cluster the endpoints' health (outlier ejection) and circuit-breaker counts. Compiled config is
 * not here: the control plane already holds what the proxy ACKed.
 */

export interface CertificateReport {
  /** `default` for the workload's own SVID, `ROOTCA` for each root it trusts (Istio's secret names). */
  name: string;
  type: 'Cert Chain' | 'CA';
  serialNumber: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  subject: string;
  issuer: string;
  /** URI and DNS SANs of the leaf (the SPIFFE ID). */
  subjectAltNames: string[];
}

export interface EndpointHealthReport {
  address: string;
  /** Ejected by outlier detection. */
  ejected: boolean;
  /** ISO 8601 of the last ejection, while ejected. */
  ejectedSince: string | null;
  timesEjected: number;
  activeRequests: number;
}

export interface ClusterHealthReport {
  /** Envoy's name: `outbound|9080|v1|reviews.default.svc.cluster.local`. */
  name: string;
  /** Whether outlier detection runs on this cluster. */
  outlierDetection: boolean;
  /** Fewer hosts healthy than minHealthPercent: the balancer ignores ejection. */
  panic: boolean;
  breaker: {
    activeConnections: number;
    pendingRequests: number;
    activeRequests: number;
    activeRetries: number;
    /** Envoy's *_overflow counters since the cluster was created. */
    overflows: Record<'connections' | 'pending_requests' | 'requests' | 'retries', number>;
  };
  endpoints: EndpointHealthReport[];
}

export interface ProxyRuntimeReport {
  /** The config version the proxy is serving with; null before its first config. */
  configVersion: string | null;
  /** When the report was made, by the proxy's clock. */
  time: string;
  certificates: CertificateReport[];
  clusters: ClusterHealthReport[];
  /** Clusters were left out to keep the report within one push-stream message. */
  truncated: boolean;
}

/** At ~150 bytes an endpoint, this keeps a report well under the push stream's 1 MiB line limit. */
export const MAX_REPORTED_ENDPOINTS = 4000;

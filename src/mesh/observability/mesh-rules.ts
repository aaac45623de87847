/**
 * The mesh's Prometheus rules: alerts on what a zero-trust mesh must notice (a source→destination edge never seen
 * before, a spike of authorization denials, any plaintext request to a workload, a certificate in the last fifth of
 * its life, a proxy stale or NACKing, egress refused) and Istio's workload-level recording rules (Istio's
 * observability best practices), so federation and dashboards built on them answer.
 */

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}

/** A counter that appeared within the window counts as an increase too: increase() needs two samples. */
function grew(series: string, window: string): string {
  return `(increase(${series}[${window}]) > 0 or (${series} unless ${series} offset ${window}))`;
}

const PLAINTEXT = 'istio_requests_total{reporter="destination",connection_security_policy="none"}';
const EDGE = 'istio_requests_total{reporter="destination"}';
const EDGE_BY = 'source_workload, source_workload_namespace, destination_service';

export const ALERT_RULES: AlertRule[] = [
  {
    alert: 'MeshNewEdge',
    expr: `count by (${EDGE_BY}) (${EDGE}) unless count by (${EDGE_BY}) (${EDGE} offset 1h)`,
    labels: { severity: 'info' },
    annotations: { summary: '{{ $labels.source_workload }}.{{ $labels.source_workload_namespace }} called {{ $labels.destination_service }} for the first time in an hour' },
  },
  {
    alert: 'MeshAuthzDenialSpike',
    expr: 'sum by (workload) (rate(weft_authz_decisions_total{mode="enforced",decision="DENY"}[5m])) > 0.1',
    labels: { severity: 'warning' },
    annotations: { summary: '{{ $labels.workload }} denies more than one request in ten seconds' },
  },
  {
    alert: 'MeshPlaintextRequest',
    expr: `sum by (destination_workload, destination_workload_namespace) (${grew(PLAINTEXT, '5m')})`,
    labels: { severity: 'critical' },
    annotations: { summary: '{{ $labels.destination_workload }}.{{ $labels.destination_workload_namespace }} received a request without mTLS' },
  },
  {
    alert: 'MeshCertificateNearExpiry',
    expr: '(weft_certificate_expiration_timestamp_seconds - time()) / (weft_certificate_expiration_timestamp_seconds - weft_certificate_not_before_timestamp_seconds) < 0.2',
    labels: { severity: 'warning' },
    annotations: { summary: "{{ $labels.workload }}'s certificate has less than a fifth of its life left" },
  },
  {
    alert: 'MeshProxyStale',
    expr: 'weft_proxy_config_stale == 1',
    for: '1m',
    labels: { severity: 'warning' },
    annotations: { summary: '{{ $labels.proxy }} has not acknowledged its latest config for a minute' },
  },
  {
    alert: 'MeshProxyNack',
    expr: 'weft_proxy_nack == 1',
    labels: { severity: 'critical' },
    annotations: { summary: '{{ $labels.proxy }} rejected its config and serves the last good one' },
  },
  {
    alert: 'MeshEgressRefused',
    expr: `sum by (workload, protocol) (${grew('weft_egress_denied_total', '5m')})`,
    labels: { severity: 'warning' },
    annotations: { summary: '{{ $labels.workload }} tried to reach a destination outside the registry' },
  },
];

/** Istio's workload-level aggregation: the per-proxy labels summed away. */
const AGGREGATED = [
  'istio_requests_total',
  'istio_request_duration_milliseconds_count',
  'istio_request_duration_milliseconds_sum',
  'istio_request_duration_milliseconds_bucket',
  'istio_request_bytes_count',
  'istio_request_bytes_sum',
  'istio_request_bytes_bucket',
  'istio_response_bytes_count',
  'istio_response_bytes_sum',
  'istio_response_bytes_bucket',
  'istio_tcp_sent_bytes_total',
  'istio_tcp_received_bytes_total',
  'istio_tcp_connections_opened_total',
  'istio_tcp_connections_closed_total',
];

export const RECORDING_RULES = AGGREGATED.map((m) => ({ record: `workload:${m}`, expr: `sum without(instance, namespace, pod) (${m})` }));

export function meshRuleGroups(): { groups: unknown[] } {
  return {
    groups: [
      { name: 'istio.workload.recording', rules: RECORDING_RULES },
      { name: 'weft.mesh.alerts', rules: ALERT_RULES },
    ],
  };
}

/**
 * The traffic policy of a cluster no DestinationRule applies to: Istio's defaults, as the control plane's
 * compileTrafficPolicy fills them in for an empty policy (a unit test keeps the two equal). A ProxyConfig leaves such
 * clusters out and the proxy builds them from this, so a mesh without DestinationRules pays nothing in config size.
 */
import type { TrafficPolicyConfig } from './types.js';

/** Istio's "2^32-1" for every circuit-breaker limit: no limit in practice. */
const UNLIMITED = 4_294_967_295;

export const DEFAULT_TRAFFIC_POLICY: TrafficPolicyConfig = Object.freeze({
  loadBalancer: { policy: 'LEAST_REQUEST' },
  warmup: null,
  localityLbSetting: null,
  connectionPool: {
    maxConnections: UNLIMITED,
    maxPendingRequests: UNLIMITED,
    maxRequests: UNLIMITED,
    maxRetries: UNLIMITED,
    maxRequestsPerConnection: 0,
    connectTimeoutMs: 10_000,
    tcpIdleTimeoutMs: 3_600_000,
    httpIdleTimeoutMs: 3_600_000,
    maxConnectionDurationMs: 0,
    tcpKeepalive: null,
    h2UpgradePolicy: 'DEFAULT',
    useClientProtocol: false,
    maxConcurrentStreams: 2_147_483_647,
  },
  outlierDetection: null,
  tls: null,
  tunnel: null,
  proxyProtocol: null,
}) as TrafficPolicyConfig;

/**
 * ProxyConfig: everything one proxy needs, compiled by the control plane. The proxy never reads user YAML and
 * never asks the registry; it checks a received config against this schema, turns it into immutable matchers once
 * and swaps them in atomically. The schema is the single source of the types, so the two cannot drift.
 * Bump PROXY_CONFIG_SCHEMA when a change is not backward compatible: a proxy NACKs a schema it does not know.
 */
import { z } from 'zod';
import { AuthorizationPolicySpecSchema } from '../config/kinds/authorization-policy.js';
import { JwtRuleSchema } from '../config/kinds/request-authentication.js';

export const PROXY_CONFIG_SCHEMA = 3;

const port = z.number().int().min(1).max(65535);
const peerAuthnMode = z.enum(['STRICT', 'PERMISSIVE', 'DISABLE']);
const portProtocol = z.enum(['http', 'http2', 'grpc', 'tcp', 'tls']);

/** Regexes are RE2 and match the whole value; `present` matches any value of a header that is there. */
const stringMatch = z.union([
  z.strictObject({ exact: z.string() }),
  z.strictObject({ prefix: z.string() }),
  z.strictObject({ regex: z.string() }),
  z.strictObject({ present: z.literal(true) }),
]);

const endpoint = z.strictObject({
  /** Pod address. */
  address: z.string(),
  /** Where the destination's sidecar accepts traffic for this endpoint (its inbound listener). */
  inboundPort: port,
  /** The app port behind the service port. */
  targetPort: port,
  /** The identity the peer must present. */
  spiffeId: z.string(),
  /** Auto mTLS: false only when the destination port's PeerAuthentication is DISABLE. */
  mtls: z.boolean(),
  /** namespace/name of the workload, for telemetry and logs. */
  workload: z.string(),
});

/** A ServiceEntry port; HTTPS is carried as `tls` (passed through by SNI, never terminated). */
const externalPort = z.strictObject({
  port,
  name: z.string(),
  protocol: portProtocol,
  /** Where connections go on the endpoints (the entry's targetPort, else `port`). */
  targetPort: port,
});

const externalEndpoint = z.strictObject({
  /** An IP address, or with DNS resolution a name to resolve. */
  address: z.string(),
  /** Port name → port on this endpoint, overriding the entry port's targetPort. */
  ports: z.record(z.string(), port),
});

/**
 * A ServiceEntry visible to this proxy (exportTo and Sidecar egress applied). HTTP is matched by Host, TLS by SNI,
 * TCP by the address dialled and the port.
 */
const externalService = z.strictObject({
  /** namespace/name of the ServiceEntry, for logs. */
  source: z.string(),
  namespace: z.string(),
  /** Lower case; `*.example.com` matches subdomains only, never example.com itself. */
  hosts: z.array(z.string()).min(1),
  /** The entry's addresses (IPs or CIDRs): TCP ports match a connection dialled to one of them. */
  addresses: z.array(z.string()),
  /**
   * What the pod's DNS proxy answers for each non-wildcard host: the entry's first IP address, else (STATIC or
   * DNS resolution) a virtual address from the service range. Hosts without an answer are left to upstream DNS.
   */
  dns: z.array(z.strictObject({ host: z.string(), address: z.string() })),
  ports: z.array(externalPort),
  location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']),
  /** NONE: on to the address the app dialled; STATIC: to `endpoints`; DNS: to `endpoints` resolved, or the host itself. */
  resolution: z.enum(['NONE', 'STATIC', 'DNS']),
  endpoints: z.array(externalEndpoint),
});

const httpMatch = z.strictObject({
  /** Exact is the whole path, prefix a string prefix; `ignoreUriCase` applies to exact and prefix, never to regex (Envoy). */
  uri: stringMatch.optional(),
  method: stringMatch.optional(),
  authority: stringMatch.optional(),
  scheme: stringMatch.optional(),
  /** Lower-case names; a repeated header's values are joined with ",". A missing header never matches. */
  headers: z.record(z.string(), stringMatch).optional(),
  /** Inverted: a missing header counts as "" (so it matches), except `present`, which then requires absence. */
  withoutHeaders: z.record(z.string(), stringMatch).optional(),
  /** On the first occurrence of the raw (not decoded) parameter value, as Envoy. */
  queryParams: z.record(z.string(), stringMatch).optional(),
  port: port.optional(),
  ignoreUriCase: z.boolean().optional(),
  /** The match entry's name, for logs and `weft route check`. */
  name: z.string().optional(),
  statPrefix: z.string().optional(),
});

/** Header operations: removals first, then `set` (replace) and `add` (append another value), in that order. */
const headerOperations = z.strictObject({
  set: z.array(z.tuple([z.string(), z.string()])),
  add: z.array(z.tuple([z.string(), z.string()])),
  remove: z.array(z.string()),
});
const headerRules = z.strictObject({ request: headerOperations.optional(), response: headerOperations.optional() });

const routeDestination = z.strictObject({
  host: z.string(),
  port,
  weight: z.number().int().min(0),
  subset: z.string().optional(),
  /** Applied after the route's own operations, so a destination's `set` wins; its authority only when the route sets none. */
  headers: headerRules.optional(),
  /** The authority this destination's headers ask for (Istio: `host`/`:authority` in request set/add). */
  authority: z.string().optional(),
});

const redirect = z.strictObject({
  /** Replaces the whole path (and the query, when it carries one). */
  uri: z.string().optional(),
  /** Replaces the matched prefix. */
  prefixRewrite: z.string().optional(),
  authority: z.string().optional(),
  /** An explicit port, or `request` for FROM_REQUEST_PORT; absent keeps Envoy's default (FROM_PROTOCOL_DEFAULT). */
  port: z.union([port, z.literal('request')]).optional(),
  scheme: z.enum(['http', 'https']).optional(),
  code: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]),
});

const retryPolicy = z.strictObject({
  /** Retries after the first try; 0 disables retries. */
  attempts: z.number().int().min(0),
  perTryTimeoutMs: z.number().int().min(0),
  /** Envoy conditions (5xx, gateway-error, connect-failure, ...). */
  retryOn: z.array(z.string()),
  /** Status codes from retryOn; they imply `retriable-status-codes`. */
  retriableStatusCodes: z.array(z.number().int()),
  retryRemoteLocalities: z.boolean(),
  /** Try another host than the ones already tried (Istio's default). */
  retryIgnorePreviousHosts: z.boolean(),
  /** Base interval of Envoy's exponential backoff; 0 means Envoy's default (25ms). */
  backoffMs: z.number().int().min(0),
});

const faultPolicy = z.strictObject({
  delay: z.strictObject({ fixedDelayMs: z.number().int().min(0), percent: z.number().min(0).max(100) }).optional(),
  abort: z
    .strictObject({ httpStatus: z.number().int().optional(), grpcStatus: z.number().int().optional(), percent: z.number().min(0).max(100) })
    .optional(),
});

const corsPolicy = z.strictObject({
  allowOrigins: z.array(stringMatch),
  allowMethods: z.array(z.string()),
  allowHeaders: z.array(z.string()),
  exposeHeaders: z.array(z.string()),
  maxAgeSeconds: z.number().int().min(0).optional(),
  allowCredentials: z.boolean().optional(),
  /** What a preflight whose origin is not allowed gets: passed to the upstream, or answered without CORS headers. */
  unmatchedPreflights: z.enum(['FORWARD', 'IGNORE']),
});

const httpRoute = z.strictObject({
  /** `namespace/name#index` of the VirtualService http[] entry it came from. */
  source: z.string(),
  name: z.string(),
  /** Any one matching is enough; an empty list matches everything. */
  match: z.array(httpMatch),
  /** Weighted split; empty when the route redirects or answers directly. */
  destinations: z.array(routeDestination),
  rewrite: z
    .strictObject({
      uri: z.string().optional(),
      authority: z.string().optional(),
      /** RE2 pattern and Envoy substitution (`\1`), applied to every match in the path. */
      uriRegexRewrite: z.strictObject({ match: z.string(), rewrite: z.string() }).optional(),
    })
    .optional(),
  /** Milliseconds; 0 means none. */
  timeoutMs: z.number().int().min(0),
  redirect: redirect.optional(),
  directResponse: z
    .strictObject({ status: z.number().int().min(200).max(599), body: z.union([z.strictObject({ string: z.string() }), z.strictObject({ base64: z.string() })]).optional() })
    .optional(),
  headers: headerRules.optional(),
  /** Absent: no retries configured at all (the proxy's defaults apply); attempts 0: retries disabled. */
  retries: retryPolicy.optional(),
  fault: faultPolicy.optional(),
  mirrors: z.array(z.strictObject({ host: z.string(), port, subset: z.string().optional(), percent: z.number().min(0).max(100) })).optional(),
  cors: corsPolicy.optional(),
});

/** An opaque TCP or TLS route: first match wins; a TLS route always names SNI hosts. */
const l4Route = z.strictObject({
  source: z.string(),
  match: z.array(
    z.strictObject({
      /** Lower case; `*.suffix` matches one or more labels more, `*` anything. TLS routes only. */
      sniHosts: z.array(z.string()).optional(),
      /** Addresses and CIDRs the connection was dialled to. */
      destinationSubnets: z.array(z.string()).optional(),
      port: port.optional(),
    }),
  ),
  destinations: z.array(z.strictObject({ host: z.string(), port, weight: z.number().int().min(0), subset: z.string().optional() })).min(1),
});

/**
 * The compiled cluster contract: one (service, port, subset) with the DestinationRule's traffic policy already
 * chosen (Istio's lookup) and merged (subset over top level, port-level settings replacing all four components), and
 * Istio's defaults filled in, so the proxy reads numbers, never user YAML. Durations are milliseconds.
 */
const hashKey = z.union([
  z.strictObject({ header: z.string() }),
  /** ttlMs set: a request without the cookie gets one generated (0 = a session cookie). */
  z.strictObject({ cookie: z.strictObject({ name: z.string(), path: z.string().nullable(), ttlMs: z.number().int().min(0).nullable() }) }),
  z.strictObject({ sourceIp: z.literal(true) }),
  z.strictObject({ queryParameter: z.string() }),
]);

const loadBalancerPolicy = z.union([
  z.strictObject({ policy: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH']) }),
  z.strictObject({ policy: z.literal('RING_HASH'), hashKey, minimumRingSize: z.number().int().min(1) }),
  z.strictObject({ policy: z.literal('MAGLEV'), hashKey, tableSize: z.number().int().min(1) }),
]);

const connectionPoolPolicy = z.strictObject({
  maxConnections: z.number().int().min(0),
  maxPendingRequests: z.number().int().min(0),
  maxRequests: z.number().int().min(0),
  maxRetries: z.number().int().min(0),
  /** 0: unlimited. */
  maxRequestsPerConnection: z.number().int().min(0),
  connectTimeoutMs: z.number().min(0),
  /** 0: none. */
  tcpIdleTimeoutMs: z.number().min(0),
  httpIdleTimeoutMs: z.number().min(0),
  /** 0: none. */
  maxConnectionDurationMs: z.number().min(0),
  tcpKeepalive: z.strictObject({ probes: z.number().int().min(0).nullable(), timeMs: z.number().nullable(), intervalMs: z.number().nullable() }).nullable(),
  h2UpgradePolicy: z.enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']),
  useClientProtocol: z.boolean(),
  maxConcurrentStreams: z.number().int().min(0),
});

const outlierDetectionPolicy = z.strictObject({
  /** 0 turns a detector off. */
  consecutive5xx: z.number().int().min(0),
  consecutiveGatewayErrors: z.number().int().min(0),
  consecutiveLocalOriginFailures: z.number().int().min(0),
  splitExternalLocalOriginErrors: z.boolean(),
  intervalMs: z.number().min(1),
  baseEjectionTimeMs: z.number().min(1),
  /** Envoy's max_ejection_time, which Istio leaves at its default: the cap on base × ejections. */
  maxEjectionTimeMs: z.number().min(1),
  maxEjectionPercent: z.number().min(0).max(100),
  /** Envoy's healthy_panic_threshold: below this % of healthy hosts, balance over all of them. 0: never. */
  minHealthPercent: z.number().min(0).max(100),
});

const clientTlsPolicy = z.strictObject({
  mode: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']),
  sni: z.string().nullable(),
  subjectAltNames: z.array(z.string()),
  caCertificates: z.string().nullable(),
  clientCertificate: z.string().nullable(),
  privateKey: z.string().nullable(),
  credentialName: z.string().nullable(),
  insecureSkipVerify: z.boolean(),
});

export const TrafficPolicyConfigSchema = z.strictObject({
  loadBalancer: loadBalancerPolicy,
  warmup: z.strictObject({ durationMs: z.number().min(0), minimumPercent: z.number().min(0).max(100), aggression: z.number().min(1) }).nullable(),
  /** Locality settings as written; weft's registry has no localities yet, so they are carried, not applied. */
  localityLbSetting: z.record(z.string(), z.unknown()).nullable(),
  connectionPool: connectionPoolPolicy,
  /** Null: no outlier detection (Istio enables it only when the rule says outlierDetection). */
  outlierDetection: outlierDetectionPolicy.nullable(),
  /** Null: the rule says nothing, and auto mTLS decides. */
  tls: clientTlsPolicy.nullable(),
  tunnel: z.strictObject({ protocol: z.enum(['CONNECT', 'POST']), targetHost: z.string(), targetPort: port }).nullable(),
  proxyProtocol: z.enum(['V1', 'V2']).nullable(),
});

export const ClusterConfigSchema = z.strictObject({
  /** Envoy's name for it: `outbound|9080|v1|reviews.default.svc.cluster.local` (subset empty when none). */
  name: z.string(),
  host: z.string(),
  port,
  /** Null: the whole service. */
  subset: z.string().nullable(),
  /** The subset's labels; an endpoint belongs to the subset when it carries all of them. */
  labels: z.record(z.string(), z.string()),
  /** `namespace/name` of each DestinationRule merged into this cluster, oldest first; empty when none applies. */
  destinationRules: z.array(z.string()),
  policy: TrafficPolicyConfigSchema,
});

/**
 * A LocalRateLimitPolicy as one sidecar enforces it, before its app. The control plane has chosen one policy per app
 * port (a policy naming the port over one that names none) and turned every clientRef into a SPIFFE ID.
 */
const requestsPerSecond = z.number().int().min(1);
const localRateLimit = z.strictObject({
  /** `namespace/name` of the policy: the metric label and the access log name it. */
  policy: z.string(),
  /** The app port it governs; absent, every HTTP app port no other entry names. */
  port: port.optional(),
  total: requestsPerSecond.optional(),
  identity: requestsPerSecond.optional(),
  /** Each entry's clients share its budget, instead of the per-identity one. */
  overrides: z.array(z.strictObject({ requestsPerSecond, clients: z.array(z.string()).min(1) })),
});

/** A cluster as a sidecar or gateway receives it: the policy and the addresses of the endpoints it balances over. */
const portCluster = ClusterConfigSchema.extend({ endpoints: z.array(z.string()) });

const outboundPort = z.strictObject({
  port,
  name: z.string(),
  protocol: portProtocol,
  endpoints: z.array(endpoint),
  /**
   * The VirtualService routes for this service port, compiled by the control plane (hosts, exportTo and short names
   * resolved; rules for other ports, gateways or source workloads dropped). Absent: the default route to this port.
   * Present and empty: a VirtualService claims the host but no rule applies here, so every request gets 404.
   */
  http: z.array(httpRoute).optional(),
  /** The tcp and tls routes for this service port, for opaque protocols. Absent: straight to this port. */
  tcp: z.array(l4Route).optional(),
  tls: z.array(l4Route).optional(),
  /**
   * The clusters of this port when a DestinationRule applies: the whole service (subset null) and each subset, with
   * the endpoints (by address) the subset's labels select. Absent: one cluster of every endpoint with Istio's
   * default policy (DEFAULT_TRAFFIC_POLICY), which keeps configs of meshes without DestinationRules small.
   */
  clusters: z.array(portCluster).optional(),
});

const outboundService = z.strictObject({
  /** reviews.default.svc.cluster.local */
  host: z.string(),
  namespace: z.string(),
  /** Lower-case names without port that resolve to this service from the proxy's namespace. */
  aliases: z.array(z.string()),
  ports: z.array(outboundPort),
  /**
   * The service's virtual addresses: what the pod's DNS proxy answers for `host` and `aliases`, and what a
   * captured connection dialled to reach this service. Empty when the mesh has no service range (loopback pods).
   */
  addresses: z.array(z.string()),
});

const virtualHost = z.strictObject({
  /** `namespace/name` of the Gateway that binds these routes. */
  gateway: z.string(),
  /** Host patterns, lower case: exact names, `*.suffix`, or `*`. */
  domains: z.array(z.string()).min(1),
  routes: z.array(httpRoute),
});

const gatewayServer = z.strictObject({
  port,
  name: z.string(),
  protocol: z.literal('HTTP'),
  virtualHosts: z.array(virtualHost),
});

const extAuthzProvider = z.strictObject({
  name: z.string(),
  /** FQDN of the authorizer's service, reached over the mesh like any outbound call. */
  service: z.string(),
  port,
  pathPrefix: z.string(),
  timeoutMs: z.number().int().min(1),
  failOpen: z.boolean(),
  statusOnError: z.number().int(),
  includeRequestHeadersInCheck: z.array(z.string()),
  includeAdditionalHeadersInCheck: z.record(z.string(), z.string()),
  headersToUpstreamOnAllow: z.array(z.string()),
  headersToDownstreamOnDeny: z.array(z.string()),
  headersToDownstreamOnAllow: z.array(z.string()),
});

/** Who may call this proxy: the policies that apply to it, already chosen by scope, and how to judge them. */
const securityConfig = z.strictObject({
  rootNamespace: z.string(),
  pathNormalization: z.enum(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']),
  authorizationPolicies: z.array(
    z.strictObject({
      namespace: z.string(),
      name: z.string(),
      annotations: z.record(z.string(), z.string()),
      spec: AuthorizationPolicySpecSchema,
    }),
  ),
  /** Every jwtRule of every RequestAuthentication that applies, with fetched JWKS documents inline in `jwks`. */
  jwtRules: z.array(JwtRuleSchema),
  extensionProviders: z.array(extAuthzProvider),
  /** MeshConfig `trustDomainAliases`: with `trustDomain`, the domains a policy's principals stand for; absent is none. */
  trustDomainAliases: z.array(z.string()).optional(),
});


export const ProxyConfigSchema = z.strictObject({
  schema: z.literal(PROXY_CONFIG_SCHEMA),
  /** Content hash of everything else: equal versions mean equal configs. */
  version: z.string().min(1),
  proxy: z.strictObject({
    role: z.enum(['sidecar', 'gateway']),
    namespace: z.string(),
    name: z.string(),
    spiffeId: z.string(),
    labels: z.record(z.string(), z.string()),
  }),
  trustDomain: z.string(),
  /** The sidecar's side of the pod: what arrives for its app. Null for gateways. */
  inbound: z
    .strictObject({
      /** Mode for ports without a port-level rule, already resolved by Istio's precedence. */
      defaultMode: peerAuthnMode,
      ports: z.array(z.strictObject({ port, name: z.string(), protocol: portProtocol, mode: peerAuthnMode })),
      /** Service port → app port, so a request for `reviews:9080` finds the app port behind it. */
      servicePorts: z.array(z.strictObject({ host: z.string(), port, targetPort: port })),
      /** Absent when no LocalRateLimitPolicy selects this workload. */
      rateLimits: z.array(localRateLimit).optional(),
    })
    .nullable(),
  outbound: z.strictObject({
    /** Mesh services this proxy can reach (exportTo and Sidecar egress hosts applied). */
    services: z.array(outboundService),
    externals: z.array(externalService),
    /**
     * A destination that is neither (an unknown Host, address or SNI): REGISTRY_ONLY answers 502 or closes the
     * connection; ALLOW_ANY passes it through to where the app dialled. The workload's Sidecar decides, else MeshConfig.
     */
    trafficPolicy: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']),
  }),
  gateway: z
    .strictObject({
      servers: z.array(gatewayServer),
      /** Istio's gatewayTopology.numTrustedProxies: the client is the Nth X-Forwarded-For entry from the right; absent is 0. */
      numTrustedProxies: z.number().int().min(0).optional(),
    })
    .nullable(),
  security: securityConfig,
});

export type ProxyConfig = z.infer<typeof ProxyConfigSchema>;
export type PeerAuthnMode = z.infer<typeof peerAuthnMode>;
export type PortProtocol = z.infer<typeof portProtocol>;
export type InboundConfig = NonNullable<ProxyConfig['inbound']>;
export type OutboundService = z.infer<typeof outboundService>;
export type OutboundPort = z.infer<typeof outboundPort>;
export type ExternalService = z.infer<typeof externalService>;
export type ExternalPort = z.infer<typeof externalPort>;
export type OutboundTrafficPolicyMode = ProxyConfig['outbound']['trafficPolicy'];
export type Endpoint = z.infer<typeof endpoint>;
export type GatewayServer = z.infer<typeof gatewayServer>;
export type VirtualHost = z.infer<typeof virtualHost>;
export type HttpRoute = z.infer<typeof httpRoute>;
export type HttpMatch = z.infer<typeof httpMatch>;
export type StringMatch = z.infer<typeof stringMatch>;
export type RouteDestination = z.infer<typeof routeDestination>;
export type HeaderOperations = z.infer<typeof headerOperations>;
export type HeaderRules = z.infer<typeof headerRules>;
export type RedirectPolicy = z.infer<typeof redirect>;
export type RetryPolicy = z.infer<typeof retryPolicy>;
export type FaultPolicy = z.infer<typeof faultPolicy>;
export type CorsPolicy = z.infer<typeof corsPolicy>;
export type L4Route = z.infer<typeof l4Route>;
export type SecurityConfig = z.infer<typeof securityConfig>;
export type LocalRateLimitConfig = z.infer<typeof localRateLimit>;
export type ExtAuthzProvider = z.infer<typeof extAuthzProvider>;
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;
export type PortCluster = z.infer<typeof portCluster>;
export type TrafficPolicyConfig = z.infer<typeof TrafficPolicyConfigSchema>;
export type LoadBalancerPolicy = z.infer<typeof loadBalancerPolicy>;
export type HashKeyPolicy = z.infer<typeof hashKey>;
export type ConnectionPoolPolicy = z.infer<typeof connectionPoolPolicy>;
export type OutlierDetectionPolicy = z.infer<typeof outlierDetectionPolicy>;
export type ClientTlsPolicy = z.infer<typeof clientTlsPolicy>;

/** Ports every sidecar uses inside its pod, as Istio's 15001/15006. */
export const SIDECAR_OUTBOUND_PORT = 15001;
export const SIDECAR_INBOUND_PORT = 15006;
/** Where a pod's sidecar answers the DNS queries its capture rules redirect (Istio's 15053). */
export const SIDECAR_DNS_PORT = 15053;

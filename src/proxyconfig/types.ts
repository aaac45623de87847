/**
 * ProxyConfig: everything one proxy needs, compiled by the control plane. The proxy never reads user YAML and
 * never asks the registry; it checks a received config against this schema, turns it into immutable matchers once
 * and swaps them in atomically. The schema is the single source of the types, so the two cannot drift.
 * Bump PROXY_CONFIG_SCHEMA when a change is not backward compatible: a proxy NACKs a schema it does not know.
 */
import { z } from 'zod';
import { AuthorizationPolicySpecSchema } from '../config/kinds/authorization-policy.js';
import { JwtRuleSchema } from '../config/kinds/request-authentication.js';
import { port } from './scalars.js';
import type { corsPolicy, faultPolicy, headerOperations, headerRules, httpMatch, redirect, retryPolicy, routeDestination, stringMatch } from './route-types.js';
import { httpRoute, l4Route } from './route-types.js';
import { clientTlsPolicy, connectionPoolPolicy, proxyProtocolVersion, tunnelPolicy } from './cluster-types.js';
import type { hashKey, loadBalancerPolicy, outlierDetectionPolicy } from './cluster-types.js';
import { ClusterConfigSchema, TrafficPolicyConfigSchema } from './cluster-types.js';
import { serverTls } from './gateway-types.js';
import { TelemetryConfigSchema } from './telemetry-types.js';
import { TelemetryPolicySchema } from './telemetry-policy-types.js';

export const PROXY_CONFIG_SCHEMA = 3;

const peerAuthnMode = z.enum(['STRICT', 'PERMISSIVE', 'DISABLE']);
const portProtocol = z.enum(['http', 'http2', 'grpc', 'tcp', 'tls']);

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
  /** `region/zone/subzone` from the workload's labels (locality.ts); absent: none given. */
  locality: z.string().optional(),
  /** The workload's labels that some DestinationRule's `failoverPriority` names; absent: none named. */
  labels: z.record(z.string(), z.string()).optional(),
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
  /**
   * DestinationRule `tls` SIMPLE or MUTUAL for a host and port of this entry (Istio's lookup from this proxy): the
   * sidecar originates TLS to the entry's destination for requests the app sends in plain HTTP. Absent: none.
   */
  origination: z.array(z.strictObject({ host: z.string(), port, tls: clientTlsPolicy })).optional(),
  /**
   * The DestinationRule's `connectionPool` for a host and port of this entry (Istio's lookup and port-level merge,
   * defaults filled in, as for a mesh cluster): the external pools' connect timeout, idle timeout, requests per
   * connection, connection age and TCP keepalive, and the circuit breaker's limits. Absent: no rule applies.
   */
  connectionPools: z.array(z.strictObject({ host: z.string(), port, connectionPool: connectionPoolPolicy })).optional(),
  /** The DestinationRule's `proxyProtocol` for a host of this entry: every connection to it starts with a PROXY header. Absent: none. */
  proxyProtocol: z.array(z.strictObject({ host: z.string(), version: proxyProtocolVersion })).optional(),
  /** The DestinationRule's `tunnel` for a host of this entry: its TCP and TLS connections go through an HTTP tunnel. Absent: none. */
  tunnels: z.array(z.strictObject({ host: z.string(), tunnel: tunnelPolicy })).optional(),
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

/** The mesh-bound routes of one ServiceEntry host and port, by the port's protocol: http, or tls (by SNI) and tcp. */
const externalRoutesEntry = z.strictObject({
  host: z.string(),
  port,
  protocol: portProtocol,
  http: z.array(httpRoute).optional(),
  tls: z.array(l4Route).optional(),
  tcp: z.array(l4Route).optional(),
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
  /** The Gateway server's `tls.httpsRedirect`: every request for these domains gets 301 to https. */
  httpsRedirect: z.boolean().optional(),
});

/**
 * One Gateway server on a port that speaks TLS (HTTPS, TLS) or TCP, as Envoy's filter chain: chosen by the SNI a
 * client sends (exact name, then the longest `*.suffix`, then a chain for `*`, which also takes no SNI), so each
 * server's certificate and client-certificate rules apply to the names it lists, and a request inside reaches only
 * that server's routes.
 */
const gatewayChain = z.strictObject({
  /** `namespace/gateway/serverName` (or the server's index), for logs. */
  server: z.string(),
  /** The server's hosts without their namespace part, lower case; `*` matches any name and a hello without one. */
  sniHosts: z.array(z.string()).min(1),
  /** Terminated here; absent for PASSTHROUGH and plain TCP. */
  tls: serverTls.optional(),
  /** HTTPS: the virtual hosts of this server's bound VirtualServices. */
  virtualHosts: z.array(virtualHost).optional(),
  /** TCP servers and terminated TLS servers: VirtualService tcp routes. */
  tcp: z.array(l4Route).optional(),
  /** PASSTHROUGH: VirtualService tls routes, matched by SNI; the bytes go on untouched. */
  tlsRoutes: z.array(l4Route).optional(),
});

const gatewayServer = z.strictObject({
  port,
  name: z.string(),
  protocol: z.enum(['HTTP', 'HTTPS', 'TLS', 'TCP']),
  /** HTTP servers: virtual hosts by Host. Empty for the others, whose routes sit in `chains`. */
  virtualHosts: z.array(virtualHost),
  chains: z.array(gatewayChain).optional(),
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
  /**
   * MeshConfig `grpcMaxMessageBytes`: the largest gRPC message a caller or an upstream may send through this proxy;
   * absent is gRPC's default, 4 MiB. (A bound on what callers send, mesh-wide like pathNormalization.)
   */
  grpcMaxMessageBytes: z.number().int().min(1).max(0xffffffff).optional(),
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
    /**
     * Sidecars: the routes VirtualServices bound to the mesh give a ServiceEntry host and port (Istio's egress
     * gateway task: the host → the egress gateway's service). Absent or no entry: the entry's own destination.
     */
    externalRoutes: z.array(externalRoutesEntry).optional(),
    /**
     * Sidecars: ServiceEntry hosts some mesh-bound route sends to an egress gateway, mesh-wide. The sidecar never
     * dials them itself (by Host, SNI or address): only a route to the gateway leaves. Absent: none.
     */
    egressGatewayHosts: z.array(z.string()).optional(),
  }),
  gateway: z
    .strictObject({
      servers: z.array(gatewayServer),
      /** Istio's gatewayTopology.numTrustedProxies: the client is the Nth X-Forwarded-For entry from the right; absent is 0. */
      numTrustedProxies: z.number().int().min(0).optional(),
    })
    .nullable(),
  security: securityConfig,
  /** Labels for metrics and logs (telemetry-types.ts); absent from configs compiled before it existed. */
  telemetry: TelemetryConfigSchema.optional(),
  /** What the Telemetry resources in force make of this proxy's metrics, logs and traces (telemetry-policy-types.ts). */
  telemetryPolicy: TelemetryPolicySchema.optional(),
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
export type GatewayChain = z.infer<typeof gatewayChain>;
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
export type TunnelSettings = z.infer<typeof tunnelPolicy>;
export type LoadBalancerPolicy = z.infer<typeof loadBalancerPolicy>;
export type HashKeyPolicy = z.infer<typeof hashKey>;
export type ConnectionPoolPolicy = z.infer<typeof connectionPoolPolicy>;
export type OutlierDetectionPolicy = z.infer<typeof outlierDetectionPolicy>;
export type ClientTlsPolicy = z.infer<typeof clientTlsPolicy>;
export type ExternalRoutes = z.infer<typeof externalRoutesEntry>[];

/** Ports every sidecar uses inside its pod, as Istio's 15001/15006. */
export const SIDECAR_OUTBOUND_PORT = 15001;
export const SIDECAR_INBOUND_PORT = 15006;
/** Where a pod's sidecar answers the DNS queries its capture rules redirect (Istio's 15053). */
export const SIDECAR_DNS_PORT = 15053;

export { ClusterConfigSchema, TrafficPolicyConfigSchema };

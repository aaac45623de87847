/**
 * weft.dev/v1alpha1 MeshConfig: the mesh-wide settings (conventionally one object in the root namespace), with
 * Istio MeshConfig's names and defaults where Istio has them.
 */
import { z } from 'zod';
import { WeftError } from '../../errors.js';
import { tryParseDuration } from '../duration.js';
import { DurationSchema, PortNumberSchema, StringMapSchema, UInt32Schema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';
import { EnvoyFileAccessLogProviderSchema, MeshTelemetryFields, OpenTelemetryProviderSchema, PrometheusProviderSchema, TracingDefaultsSchema, checkAccessLogFormat, checkTelemetryProviders, meshTelemetrySettings } from './mesh-telemetry.js';
import type { MeshTelemetrySettings } from './mesh-telemetry.js';

// SPIFFE trust domain characters (SPIFFE ID spec, section 2.1).
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

export const EnvoyExtAuthzHttpSchema = z.strictObject({
  service: z.string().min(1),
  port: PortNumberSchema,
  timeout: DurationSchema.optional(),
  pathPrefix: z.string().optional(),
  failOpen: z.boolean().optional(),
  clearRouteCache: z.boolean().optional(),
  statusOnError: z.string().regex(/^[1-5]\d\d$/, 'statusOnError must be an HTTP status code').optional(),
  includeHeadersInCheck: z.array(z.string()).optional(),
  includeRequestHeadersInCheck: z.array(z.string()).optional(),
  includeAdditionalHeadersInCheck: StringMapSchema.optional(),
  includeRequestBodyInCheck: z
    .strictObject({
      maxRequestBytes: UInt32Schema.optional(),
      allowPartialMessage: z.boolean().optional(),
      packAsBytes: z.boolean().optional(),
    })
    .optional(),
  headersToUpstreamOnAllow: z.array(z.string()).optional(),
  headersToDownstreamOnDeny: z.array(z.string()).optional(),
  headersToDownstreamOnAllow: z.array(z.string()).optional(),
});

/**
 * Istio's ProxyConfig `gatewayTopology`, the part weft implements: how many proxies in front of the ingress gateway
 * append to X-Forwarded-For, so the gateway can find the client's address. Also the shape read from a Gateway's
 * `proxy.istio.io/config` annotation.
 */
export const GatewayTopologySchema = z.strictObject({
  numTrustedProxies: UInt32Schema.optional(),
});

export const ExtensionProviderSchema = z
  .strictObject({
    name: z.string().min(1),
    envoyExtAuthzHttp: EnvoyExtAuthzHttpSchema.optional(),
    opentelemetry: OpenTelemetryProviderSchema.optional(),
    prometheus: PrometheusProviderSchema.optional(),
    envoyFileAccessLog: EnvoyFileAccessLogProviderSchema.optional(),
  })
  .refine((p) => [p.envoyExtAuthzHttp, p.opentelemetry, p.prometheus, p.envoyFileAccessLog].filter((k) => k !== undefined).length === 1, {
    message: 'an extension provider is exactly one of envoyExtAuthzHttp, opentelemetry, prometheus, envoyFileAccessLog',
  });

const trustDomainSchema = (what: string) => z.string().max(255).regex(TRUST_DOMAIN, `${what} may contain only lowercase letters, digits, ".", "-" and "_"`);

export const MeshConfigSpecSchema = z.strictObject({
  trustDomain: trustDomainSchema('trustDomain').default('cluster.local'),
  /**
   * Istio's trust domain migration: peers of these domains are treated as the mesh's own in AuthorizationPolicy
   * (a principal naming any of them, or `cluster.local`, matches all of them).
   */
  trustDomainAliases: z.array(trustDomainSchema('a trust domain alias')).default([]),
  rootNamespace: z.string().default('weft-system'),
  certificateTTL: z
    .string()
    .superRefine((d, ctx) => {
      const ms = tryParseDuration(d);
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: 'invalid duration: expected e.g. "24h", "30m", "90s"' });
      else if (ms < 1000) ctx.addIssue({ code: 'custom', message: 'certificateTTL must be at least 1s' });
    })
    .default('24h'),
  outboundTrafficPolicy: z
    .strictObject({ mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']).default('REGISTRY_ONLY') })
    .default({ mode: 'REGISTRY_ONLY' }),
  pathNormalization: z
    .strictObject({
      normalization: z.enum(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']).default('BASE'),
    })
    .default({ normalization: 'BASE' }),
  extensionProviders: z.array(ExtensionProviderSchema).default([]),
  /** Istio's `defaultConfig` (the proxies' mesh-wide ProxyConfig): weft reads its gatewayTopology. */
  defaultConfig: z.strictObject({ gatewayTopology: GatewayTopologySchema.optional(), tracing: TracingDefaultsSchema.optional() }).optional(),
  ...MeshTelemetryFields,
  /**
   * weft's own: the largest gRPC message (its length prefix) a proxy lets through in either direction, gRPC's
   * default receive limit of 4 MiB when unset; a larger one is refused with RESOURCE_EXHAUSTED.
   */
  grpcMaxMessageBytes: z.number().int().min(1).max(0xffffffff).optional(),
  /** weft's own: where `weft up --isolation=netns` takes the pods' /24 and the service range from. */
  podRange: z
    .string()
    .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/, 'podRange must be an IPv4 CIDR, e.g. "198.18.0.0/15"')
    .optional(),
});

export type MeshConfigSpec = z.infer<typeof MeshConfigSpecSchema>;
/** What a user may write: every defaulted field optional. */
export type MeshConfigSpecInput = z.input<typeof MeshConfigSpecSchema>;
export type ExtensionProvider = z.infer<typeof ExtensionProviderSchema>;

export interface EnvoyExtAuthzHttpSettings {
  service: string;
  port: number;
  timeoutMs: number | undefined;
  pathPrefix: string;
  failOpen: boolean;
  clearRouteCache: boolean;
  statusOnError: number;
  includeRequestHeadersInCheck: string[];
  includeAdditionalHeadersInCheck: Record<string, string>;
  includeRequestBodyInCheck: { maxRequestBytes: number; allowPartialMessage: boolean; packAsBytes: boolean } | undefined;
  headersToUpstreamOnAllow: string[];
  headersToDownstreamOnDeny: string[];
  headersToDownstreamOnAllow: string[];
}

/** An OpenTelemetry collector an extension provider names. */
export interface OpenTelemetryProviderSettings {
  name: string;
  service: string;
  port: number;
  path: string;
  maxTagLength: number;
}

/** The mesh settings with every default filled in and durations in milliseconds. */
export interface MeshSettings extends MeshTelemetrySettings {
  tracingProviders: OpenTelemetryProviderSettings[];
  trustDomain: string;
  trustDomainAliases: string[];
  rootNamespace: string;
  certificateTtlMs: number;
  outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' | 'ALLOW_ANY' };
  pathNormalization: { normalization: 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES' };
  extensionProviders: { name: string; envoyExtAuthzHttp: EnvoyExtAuthzHttpSettings }[];
  /** `defaultConfig.gatewayTopology`, 0 when unset (Istio's default: the peer is the client). */
  gatewayTopology: { numTrustedProxies: number };
  podRange: string | undefined;
  /** undefined: gRPC's default (GRPC_MAX_MESSAGE_BYTES_DEFAULT in the proxy). */
  grpcMaxMessageBytes: number | undefined;
}

/** Fills defaults; accepts an already validated spec, a raw (unvalidated) object, or nothing at all. */
export function meshConfigWithDefaults(spec: MeshConfigSpecInput | MeshConfigSpec | undefined): MeshSettings {
  const parsed = MeshConfigSpecSchema.safeParse(spec ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first === undefined ? '' : `${first.path.join('.')}: `;
    throw new WeftError('CONFIG_INVALID', `invalid MeshConfig: ${where}${first?.message ?? 'invalid'}`, { cause: parsed.error });
  }
  const s = parsed.data;
  return {
    trustDomain: s.trustDomain,
    trustDomainAliases: [...s.trustDomainAliases],
    rootNamespace: s.rootNamespace,
    certificateTtlMs: tryParseDuration(s.certificateTTL) ?? 86_400_000,
    outboundTrafficPolicy: { mode: s.outboundTrafficPolicy.mode },
    pathNormalization: { normalization: s.pathNormalization.normalization },
    extensionProviders: s.extensionProviders.flatMap((p) => (p.envoyExtAuthzHttp ? [{ name: p.name, envoyExtAuthzHttp: extAuthzSettings(p.envoyExtAuthzHttp) }] : [])),
    tracingProviders: s.extensionProviders.flatMap((p) =>
      p.opentelemetry ? [{ name: p.name, service: p.opentelemetry.service, port: p.opentelemetry.port, path: p.opentelemetry.http?.path ?? '/v1/traces', maxTagLength: p.opentelemetry.maxTagLength ?? 256 }] : [],
    ),
    ...meshTelemetrySettings(s),
    gatewayTopology: { numTrustedProxies: s.defaultConfig?.gatewayTopology?.numTrustedProxies ?? 0 },
    podRange: s.podRange,
    grpcMaxMessageBytes: s.grpcMaxMessageBytes,
  };
}

function extAuthzSettings(h: z.infer<typeof EnvoyExtAuthzHttpSchema>): EnvoyExtAuthzHttpSettings {
  const body = h.includeRequestBodyInCheck;
  return {
    service: h.service,
    port: h.port,
    timeoutMs: h.timeout === undefined ? undefined : tryParseDuration(h.timeout),
    pathPrefix: h.pathPrefix ?? '',
    failOpen: h.failOpen ?? false,
    clearRouteCache: h.clearRouteCache ?? false,
    // Istio answers 403 when the authorizer cannot be reached and failOpen is off.
    statusOnError: h.statusOnError === undefined ? 403 : Number(h.statusOnError),
    includeRequestHeadersInCheck: [...(h.includeRequestHeadersInCheck ?? []), ...(h.includeHeadersInCheck ?? [])],
    includeAdditionalHeadersInCheck: { ...(h.includeAdditionalHeadersInCheck ?? {}) },
    includeRequestBodyInCheck:
      body === undefined
        ? undefined
        : { maxRequestBytes: body.maxRequestBytes ?? 0, allowPartialMessage: body.allowPartialMessage ?? false, packAsBytes: body.packAsBytes ?? false },
    headersToUpstreamOnAllow: [...(h.headersToUpstreamOnAllow ?? [])],
    headersToDownstreamOnDeny: [...(h.headersToDownstreamOnDeny ?? [])],
    headersToDownstreamOnAllow: [...(h.headersToDownstreamOnAllow ?? [])],
  };
}

export function checkMeshConfig(spec: MeshConfigSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Map<string, number>();
  spec.extensionProviders.forEach((p, i) => {
    const first = seen.get(p.name);
    if (first !== undefined) issues.push({ path: ['extensionProviders', i, 'name'], message: `duplicate extension provider "${p.name}" (also extensionProviders[${first}])` });
    else seen.set(p.name, i);
  });
  issues.push(...checkTelemetryProviders(spec));
  issues.push(...checkAccessLogFormat(spec.accessLogEncoding, spec.accessLogFormat));
  return issues;
}

/**
 * The telemetry-policy section turned into what the taps run, once per config: per workload mode, each metric's
 * tag operations with their CEL programs compiled, and the tracing settings with environment tags read. A proxy
 * whose config has no such section behaves as before (MeshConfig's tracing, every metric, MeshConfig's access log).
 */
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { PolicyMetric, PolicyTracing, TelemetryModePolicy } from '../../proxyconfig/telemetry-policy-types.js';
import type { TracingConfig } from '../../proxyconfig/telemetry-types.js';
import { compileCel, tagText } from '../../telemetry-expr/cel-program.js';
import type { CelProgram } from '../../telemetry-expr/cel-program.js';
import type { AccessLogEntry } from './access-log.js';
import type { HopSampling } from './trace-context.js';

/** Istio's WorkloadMode of a reporting side: a sidecar's inbound side is SERVER; its outbound side and gateways, CLIENT. */
export type PolicyMode = 'client' | 'server';
export const modeOf = (direction: AccessLogEntry['direction']): PolicyMode => (direction === 'inbound' ? 'server' : 'client');

export interface CompiledTagOp {
  readonly tag: string;
  /** Undefined: the tag is removed. */
  readonly value: CelProgram | undefined;
}

export interface CompiledMetricPolicy {
  readonly disabled: boolean;
  readonly ops: readonly CompiledTagOp[];
}

export interface CompiledModeMetrics {
  readonly enabled: boolean;
  readonly byMetric: ReadonlyMap<PolicyMetric, CompiledMetricPolicy>;
}

export type HopTracing = TracingConfig & HopSampling & { reportSpans: boolean; fixedTags: readonly [string, string][] };

export interface CompiledTelemetryPolicy {
  readonly metrics: Readonly<Record<PolicyMode, CompiledModeMetrics>>;
  readonly tracing: Readonly<Record<PolicyMode, HopTracing | null>>;
}

/** Environment variables a custom tag may read; injected so tests pass a Map. */
export type EnvLookup = (name: string) => string | undefined;
let envLookup: EnvLookup = (name) => process.env[name];
export function setTelemetryEnv(lookup: EnvLookup): void {
  envLookup = lookup;
}

function compileMetrics(m: TelemetryModePolicy['metrics']): CompiledModeMetrics {
  const byMetric = new Map<PolicyMetric, CompiledMetricPolicy>();
  for (const o of m.overrides) {
    byMetric.set(o.metric, { disabled: o.disabled, ops: o.tags.map((t) => ({ tag: t.tag, value: t.remove ? undefined : compileCel(t.value ?? '""') })) });
  }
  return { enabled: m.enabled, byMetric };
}

function compileTracing(t: PolicyTracing | null): HopTracing | null {
  if (t === null) return null;
  const fixedTags: [string, string][] = [];
  for (const c of t.customTags) {
    if (c.literal !== undefined) fixedTags.push([c.tag, c.literal]);
    else if (c.environment !== undefined) fixedTags.push([c.tag, envLookup(c.environment.name) ?? c.environment.defaultValue]);
  }
  return { ...t, fixedTags };
}

const compiled = new WeakMap<ProxyConfig, CompiledTelemetryPolicy | null>();

/** Null when the config carries no telemetry-policy section. */
export function telemetryPolicyOf(cfg: ProxyConfig): CompiledTelemetryPolicy | null {
  let c = compiled.get(cfg);
  if (c === undefined) {
    const p = cfg.telemetryPolicy;
    c =
      p === undefined
        ? null
        : {
            metrics: { client: compileMetrics(p.client.metrics), server: compileMetrics(p.server.metrics) },
            tracing: { client: compileTracing(p.client.tracing), server: compileTracing(p.server.tracing) },
          };
    compiled.set(cfg, c);
  }
  return c;
}

/** The tracing a side of the proxy runs: its Telemetry policy's, else MeshConfig's; null or undefined when off. */
export function tracingFor(cfg: ProxyConfig, mode: PolicyMode): (TracingConfig & Partial<HopTracing>) | null | undefined {
  const p = telemetryPolicyOf(cfg);
  return p === null ? cfg.telemetry?.tracing : p.tracing[mode];
}

/**
 * A metric's labels after its tag overrides: removed tags dropped, upserted ones set from their program's value on
 * `activation` (attributes config and identities bound: checked at apply).
 */
export function overriddenLabels(labels: Readonly<Record<string, string>>, policy: CompiledMetricPolicy | undefined, activation: () => Record<string, unknown>): Readonly<Record<string, string>> {
  if (policy === undefined || policy.ops.length === 0) return labels;
  const out: Record<string, string> = { ...labels };
  let act: Record<string, unknown> | undefined;
  for (const op of policy.ops) {
    if (op.value === undefined) delete out[op.tag];
    else out[op.tag] = tagText(op.value((act ??= activation())));
  }
  return out;
}

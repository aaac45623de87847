/**
 * The telemetry-policy section: the Telemetry resources in force for a proxy merged with Istio's rules
 * (pilot/pkg/model/telemetry.go), for each workload mode. Tracing: each level's fields replace the ones before
 * (custom tags as a whole). Metrics: `providers` is the most specific one set; overrides apply in order, later
 * ones per metric and per tag over earlier ones; disabling ALL_METRICS drops the provider until a later override
 * re-enables it. Access logging: `providers` is the most specific level's; `disabled` removes a provider for the
 * modes it matches; a provider's filter is the last one written for it. Shared by every proxy under the same
 * Telemetries.
 */
import type { TelemetryAccessLogging, TelemetryMetrics, TelemetrySpec, TelemetryTracing, WorkloadMode } from '../../config/kinds/telemetry.js';
import { POLICY_METRICS } from '../../proxyconfig/telemetry-policy-types.js';
import type { PolicyCustomTag, PolicyMetric, PolicyMetricOverride, PolicyTracing, TelemetryModePolicy, TelemetryPolicy } from '../../proxyconfig/telemetry-policy-types.js';
import type { TelemetryProviderKind } from '../../config/kinds/mesh-telemetry.js';
import type { MeshSnapshot, Named } from './snapshot.js';
import { tryParseDuration } from '../../config/duration.js';
import { perEpoch, sharedSection } from './snapshot-memo.js';
import type { SharedSection } from './snapshot-memo.js';
import { applicableTelemetries } from './telemetry-scope.js';
import type { TelemetryTarget } from './telemetry-scope.js';

type Mode = 'CLIENT' | 'SERVER';

export function telemetryPolicySection(snap: MeshSnapshot, target: TelemetryTarget): SharedSection<TelemetryPolicy> {
  const applied = applicableTelemetries(snap, target);
  const key = `telemetry-policy|${applied.map((t) => `${t.namespace}/${t.name}`).join(',')}`;
  // Telemetry resources and mesh settings are policy: the section lasts the policy epoch.
  return perEpoch(snap, key, () => sharedSection(compileTelemetryPolicy(snap, applied)));
}

export function compileTelemetryPolicy(snap: MeshSnapshot, applied: readonly Named<TelemetrySpec>[]): TelemetryPolicy {
  const specs = applied.map((t) => t.spec);
  const modePolicy = (mode: Mode): TelemetryModePolicy => ({
    metrics: mergeMetrics(snap, specs.flatMap((s) => s.metrics ?? []), mode),
    accessLog: mergeAccessLogs(snap, specs.map((s) => s.accessLogging ?? []).filter((l) => l.length > 0), mode),
    tracing: mergeTracing(snap, specs.flatMap((s) => s.tracing ?? []), mode),
  });
  // The most specific reportingInterval written wins.
  const interval = specs.flatMap((s) => s.metrics ?? []).reduce<string | undefined>((last, m) => m.reportingInterval ?? last, undefined);
  const ms = interval === undefined ? undefined : tryParseDuration(interval);
  return {
    applied: applied.map((t) => `${t.namespace}/${t.name}`),
    ...(ms !== undefined && ms >= 1 ? { reportingIntervalMs: Math.round(ms) } : {}),
    client: modePolicy('CLIENT'),
    server: modePolicy('SERVER'),
  };
}

/** Istio compares provider names case-insensitively. */
function providerKind(snap: MeshSnapshot, name: string): TelemetryProviderKind | undefined {
  const n = name.toLowerCase();
  return snap.mesh.telemetryProviders.find((p) => p.name.toLowerCase() === n)?.kind;
}

const modeMatches = (m: WorkloadMode | undefined, mode: Mode): boolean => m === undefined || m === 'CLIENT_AND_SERVER' || m === mode;
const namesOf = (providers: { name: string }[] | undefined): string[] => (providers ?? []).map((p) => p.name);

function mergeTracing(snap: MeshSnapshot, blocks: readonly TelemetryTracing[], mode: Mode): PolicyTracing | null {
  const mesh = snap.mesh;
  if (!mesh.tracing.enabled) return null;
  // Istio uses the first default provider, and the first a block names.
  let provider: string | undefined = mesh.tracing.providers[0];
  let reportSpans = true;
  let sampling = mesh.tracing.sampling;
  let customTags: NonNullable<TelemetryTracing['customTags']> = {};
  let useRequestId = true;
  for (const b of blocks) {
    if (!modeMatches(b.match?.mode, mode)) continue;
    const names = namesOf(b.providers);
    if (names.length > 0) provider = names[0];
    if (b.disableSpanReporting !== undefined) reportSpans = !b.disableSpanReporting;
    if (b.customTags !== undefined) customTags = b.customTags;
    if (b.randomSamplingPercentage !== undefined) sampling = b.randomSamplingPercentage;
    if (b.useRequestIdForTraceSampling !== undefined) useRequestId = b.useRequestIdForTraceSampling;
  }
  const otel = provider === undefined ? undefined : mesh.tracingProviders.find((p) => p.name.toLowerCase() === provider.toLowerCase());
  if (otel === undefined) return null;
  const tags: PolicyCustomTag[] = Object.entries(customTags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([tag, t]) => {
      if (t.literal) return { tag, literal: t.literal.value };
      if (t.environment) return { tag, environment: { name: t.environment.name, defaultValue: t.environment.defaultValue ?? '' } };
      return { tag, header: { name: t.header!.name.toLowerCase(), defaultValue: t.header!.defaultValue ?? '' } };
    });
  return {
    collector: { host: otel.service, port: otel.port, path: otel.path },
    samplingPercent: sampling,
    maxTagLength: otel.maxTagLength,
    reportSpans,
    useRequestIdForSampling: useRequestId,
    customTags: tags,
  };
}

function matchedMetrics(o: NonNullable<TelemetryMetrics['overrides']>[number]): readonly PolicyMetric[] {
  const m = o.match?.metric;
  if (o.match?.customMetric !== undefined) return []; // weft defines no custom metrics (the analyzer says so)
  if (m === undefined || m === 'ALL_METRICS') return POLICY_METRICS;
  return (POLICY_METRICS as readonly string[]).includes(m) ? [m as PolicyMetric] : [];
}

function mergeMetrics(snap: MeshSnapshot, blocks: readonly TelemetryMetrics[], mode: Mode): TelemetryModePolicy['metrics'] {
  let providerNames = snap.mesh.defaultMetricsProviders;
  for (const b of blocks) if ((b.providers?.length ?? 0) > 0) providerNames = namesOf(b.providers);
  // One sink, the proxy's Prometheus endpoint: every prometheus provider in scope is it.
  const inScope = new Set(providerNames.filter((n) => providerKind(snap, n) === 'prometheus').map((n) => n.toLowerCase()));
  const merged = new Map<PolicyMetric, { disabled: boolean; tags: Map<string, { remove: boolean; value?: string }> }>();
  let allDisabled = false;
  let parent = snap.mesh.defaultMetricsProviders;
  for (const b of blocks) {
    const names = (b.providers?.length ?? 0) > 0 ? namesOf(b.providers) : parent;
    parent = names;
    if (!names.some((n) => inScope.has(n.toLowerCase()))) continue;
    for (const o of b.overrides ?? []) {
      const all = o.match?.customMetric === undefined && (o.match?.metric === undefined || o.match.metric === 'ALL_METRICS');
      if (all && o.disabled === true && modeMatches(o.match?.mode, mode)) {
        allDisabled = true;
        continue;
      }
      if (!modeMatches(o.match?.mode, mode)) continue;
      allDisabled = false;
      for (const metric of matchedMetrics(o)) {
        let m = merged.get(metric);
        if (!m) merged.set(metric, (m = { disabled: false, tags: new Map() }));
        if (o.disabled !== undefined) m.disabled = o.disabled;
        for (const [tag, t] of Object.entries(o.tagOverrides ?? {})) {
          m.tags.set(tag, (t.operation ?? 'UPSERT') === 'REMOVE' ? { remove: true } : { remove: false, value: t.value ?? '' });
        }
      }
    }
  }
  const overrides: PolicyMetricOverride[] = POLICY_METRICS.flatMap((metric) => {
    const m = merged.get(metric);
    if (!m) return [];
    const tags = [...m.tags.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([tag, t]) => ({ tag, ...t }));
    return [{ metric, disabled: m.disabled, tags }];
  });
  return { enabled: inScope.size > 0 && !allDisabled, overrides };
}

function mergeAccessLogs(snap: MeshSnapshot, levels: readonly (readonly TelemetryAccessLogging[])[], mode: Mode): TelemetryModePolicy['accessLog'] {
  const defaults = snap.mesh.defaultAccessLogProviders;
  if (levels.length === 0 && defaults.length === 0) return null;
  const chosen = new Map<string, string | undefined>();
  if (levels.length === 0) {
    for (const d of defaults) chosen.set(d, undefined);
  } else {
    let providerNames = defaults;
    const filters = new Map<string, string | undefined>();
    for (const level of levels) {
      const names = new Set<string>();
      for (const b of level) {
        for (const n of namesOf(b.providers)) {
          names.add(n);
          filters.set(n, b.filter?.expression);
        }
      }
      if (names.size > 0) providerNames = [...names];
    }
    const inScope = new Set(providerNames);
    let parent = defaults;
    for (const level of levels) {
      for (const b of level) {
        const names = (b.providers?.length ?? 0) > 0 ? namesOf(b.providers) : parent;
        parent = names;
        for (const n of names) {
          if (!inScope.has(n) || !modeMatches(b.match?.mode, mode)) continue;
          if (b.disabled === true) chosen.delete(n);
          // A block naming providers takes the filter last written for each (Istio's map); a block that inherits its
          // parent's providers applies its own filter, else theirs.
          else chosen.set(n, (b.providers?.length ?? 0) > 0 ? filters.get(n) : b.filter?.expression ?? filters.get(n));
        }
      }
    }
  }
  const mesh = snap.mesh;
  return [...chosen.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([name, filter]) => {
      const p = mesh.telemetryProviders.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (p?.kind !== 'envoyFileAccessLog') return [];
      const f = p.accessLogFormat ?? mesh.accessLog;
      return [{ provider: p.name, encoding: f.encoding, format: f.format, ...(filter !== undefined && { filter }) }];
    });
}

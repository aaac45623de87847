/**
 * Telemetry references (weft's WEFT012x): a provider a Telemetry names must be an extension provider of MeshConfig
 * (or a built-in: `prometheus`, `envoy`) of the kind the section takes; what weft accepts but applies to nothing
 * (custom metrics, targetRefs that name no weft gateway) is said as a warning.
 */
import type { TelemetrySpec } from '../config/kinds/telemetry.js';
import { providerReferences } from '../config/kinds/telemetry.js';
import { PROVIDER_KIND_OF_USE } from '../config/kinds/mesh-telemetry.js';
import type { Check } from './context.js';
import type { Finding } from './finding.js';

export const checkTelemetryReferences: Check = (ctx) => {
  const out: Finding[] = [];
  const providers = ctx.snapshot.mesh.telemetryProviders;
  for (const t of ctx.of<TelemetrySpec>('Telemetry')) {
    for (const ref of providerReferences(t.spec)) {
      const kind = PROVIDER_KIND_OF_USE[ref.use];
      const p = providers.find((x) => x.name.toLowerCase() === ref.name.toLowerCase());
      if (p?.kind === kind) continue;
      out.push(ctx.finding(t.entry, {
        code: 'WEFT0120', severity: 'error', path: ['spec', ...ref.path],
        message: p === undefined ? `unknown provider "${ref.name}": MeshConfig has no extension provider of that name` : `provider "${ref.name}" is ${p.kind}; ${ref.use} takes a ${kind} provider`,
        fix: `name a ${kind} provider of MeshConfig's extensionProviders${kind === 'prometheus' ? ' (or the built-in "prometheus")' : kind === 'envoyFileAccessLog' ? ' (or the built-in "envoy")' : ''}, or declare one`,
      }));
    }
    (t.spec.metrics ?? []).forEach((m, i) => (m.overrides ?? []).forEach((o, j) => {
      if (o.match?.customMetric === undefined) return;
      out.push(ctx.finding(t.entry, {
        code: 'WEFT0121', severity: 'warning', path: ['spec', 'metrics', i, 'overrides', j, 'match'],
        message: `weft defines no custom metric "${o.match.customMetric}": this override changes nothing`,
        fix: 'match one of the standard metrics weft emits (REQUEST_COUNT … GRPC_RESPONSE_MESSAGES) or ALL_METRICS',
      }));
    }));
    const refs = [...(t.spec.targetRef ? [t.spec.targetRef] : []), ...(t.spec.targetRefs ?? [])];
    refs.forEach((r, i) => {
      if (r.kind === 'Gateway' && (r.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io') return;
      out.push(ctx.finding(t.entry, {
        code: 'WEFT0122', severity: 'warning', path: ['spec', t.spec.targetRef ? 'targetRef' : 'targetRefs', ...(t.spec.targetRef ? [] : [i])],
        message: `a ${r.group ?? ''}/${r.kind} target selects no weft proxy: weft has no waypoints; targetRefs apply to Gateway API Gateways`,
        fix: 'use a selector for sidecars, or target a gateway.networking.k8s.io Gateway',
      }));
    });
  }
  return out;
};

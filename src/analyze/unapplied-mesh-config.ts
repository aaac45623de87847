/**
 * MeshConfig settings weft accepts, with Istio MeshConfig's names, but does not apply (WEFT0135). The doc each
 * names ("Not applied, and why") says why each is not.
 */
import type { MeshConfigSpec } from '../config/kinds/mesh-config.js';
import { unappliedCheck } from './unapplied-fields.js';
import type { Unapplied } from './unapplied-fields.js';

const AUTHZ_DOC = 'docs/authorization.md, "Not applied, and why"';
const TELEMETRY_DOC = 'docs/telemetry.md, "Not applied, and why"';

/** The spec as stored: defaults may not be filled in yet. */
type StoredSpec = Partial<MeshConfigSpec>;

function collect(spec: StoredSpec): Unapplied[] {
  const out: Unapplied[] = [];
  (spec.extensionProviders ?? []).forEach((p, i) => {
    const authz = p.envoyExtAuthzHttp;
    if (authz?.clearRouteCache === true) {
      out.push({ path: ['extensionProviders', i, 'envoyExtAuthzHttp', 'clearRouteCache'], what: 'clearRouteCache: the route is chosen before the authorizer answers and stays chosen, whatever headers it adds', doc: AUTHZ_DOC });
    }
    if (authz?.includeRequestBodyInCheck !== undefined) {
      out.push({ path: ['extensionProviders', i, 'envoyExtAuthzHttp', 'includeRequestBodyInCheck'], what: 'includeRequestBodyInCheck: the check request carries headers only, never the body', doc: AUTHZ_DOC });
    }
    if (p.opentelemetry?.http?.timeout !== undefined) {
      out.push({ path: ['extensionProviders', i, 'opentelemetry', 'http', 'timeout'], what: "the OpenTelemetry provider's http.timeout: span exports take the exporter's own 10 s timeout", doc: TELEMETRY_DOC });
    }
  });
  if (spec.defaultConfig?.tracing?.maxPathTagLength !== undefined) {
    out.push({ path: ['defaultConfig', 'tracing', 'maxPathTagLength'], what: "defaultConfig.tracing.maxPathTagLength: a span's http.url is cut at the provider's maxTagLength instead", doc: TELEMETRY_DOC });
  }
  return out;
}

export const checkUnappliedMeshConfig = unappliedCheck<StoredSpec>('MeshConfig', 'WEFT0135', AUTHZ_DOC, collect);

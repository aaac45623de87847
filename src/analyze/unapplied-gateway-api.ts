/**
 * Gateway API settings weft accepts, as the CRDs have them, but does not apply (WEFT0136). docs/gateway-api.md
 * ("Not supported, and differences") says why each is not.
 */
import type { GatewayClassSpec, KubernetesGatewaySpec } from '../config/kinds/gateway-api/gateway.js';
import type { HttpRouteSpec } from '../config/kinds/gateway-api/http-route.js';
import type { Check } from './context.js';
import { unappliedCheck } from './unapplied-fields.js';
import type { Unapplied } from './unapplied-fields.js';

const CODE = 'WEFT0136';
const DOC = 'docs/gateway-api.md, "Not supported, and differences"';

function gateway(spec: KubernetesGatewaySpec): Unapplied[] {
  const out: Unapplied[] = [];
  if (spec.addresses !== undefined) out.push({ path: ['addresses'], what: "addresses: the mesh's one ingress gateway serves every Gateway on its own addresses" });
  if (spec.infrastructure !== undefined) out.push({ path: ['infrastructure'], what: 'infrastructure: no gateway is deployed per Gateway, so there is nothing to label or annotate' });
  spec.listeners.forEach((l, i) => {
    if (l.tls?.options !== undefined) out.push({ path: ['listeners', i, 'tls', 'options'], what: 'tls.options: the listener takes the TLS defaults of docs/edge.md' });
    (l.tls?.certificateRefs ?? []).forEach((_, j) => {
      if (j > 0) out.push({ path: ['listeners', i, 'tls', 'certificateRefs', j], what: 'a certificateRef after the first: the listener serves the first one only' });
    });
  });
  return out;
}

function gatewayClass(spec: GatewayClassSpec): Unapplied[] {
  return spec.parametersRef === undefined ? [] : [{ path: ['parametersRef'], what: 'parametersRef: the ingress gateway is configured by MeshConfig and weft up, not per class' }];
}

const isSet = (d: string | undefined): d is string => d !== undefined && d !== '0s';

function httpRoute(spec: HttpRouteSpec): Unapplied[] {
  const out: Unapplied[] = [];
  (spec.rules ?? []).forEach((r, i) => {
    if (isSet(r.timeouts?.request) && isSet(r.timeouts.backendRequest)) {
      out.push({ path: ['rules', i, 'timeouts', 'backendRequest'], what: 'timeouts.backendRequest beside timeouts.request: the route is held to request only, with no per-try timeout' });
    }
  });
  return out;
}

const checks: readonly Check[] = [
  unappliedCheck<KubernetesGatewaySpec>('KubernetesGateway', CODE, DOC, gateway),
  unappliedCheck<GatewayClassSpec>('GatewayClass', CODE, DOC, gatewayClass),
  unappliedCheck<HttpRouteSpec>('HTTPRoute', CODE, DOC, httpRoute),
];

export const checkUnappliedGatewayApi: Check = (ctx) => checks.flatMap((c) => c(ctx));

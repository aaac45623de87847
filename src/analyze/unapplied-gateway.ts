/**
 * Gateway settings weft accepts, as Istio's API has them, but does not apply (WEFT0132). docs/edge.md ("Not
 * applied, and why") says why each is not.
 */
import type { GatewaySpec } from '../config/kinds/gateway.js';
import { unappliedCheck } from './unapplied-fields.js';
import type { Unapplied } from './unapplied-fields.js';

function collect(spec: GatewaySpec): Unapplied[] {
  const out: Unapplied[] = [];
  (spec.servers ?? []).forEach((s, i) => {
    if (s.bind !== undefined) out.push({ path: ['servers', i, 'bind'], what: 'bind: the server listens on every address of the gateway, not only the one named' });
    if (s.defaultEndpoint !== undefined) out.push({ path: ['servers', i, 'defaultEndpoint'], what: 'defaultEndpoint (Istio does not implement it either): nothing is forwarded to it' });
    if (s.port.targetPort !== undefined) out.push({ path: ['servers', i, 'port', 'targetPort'], what: "port.targetPort (deprecated; Istio reads it only in ServiceEntries): the gateway listens on the port's number" });
    if (s.tls?.insecureSkipVerify === true) out.push({ path: ['servers', i, 'tls', 'insecureSkipVerify'], what: 'tls.insecureSkipVerify: a client certificate that fails verification is refused as the mode says' });
  });
  return out;
}

export const checkUnappliedGateway = unappliedCheck<GatewaySpec>('Gateway', 'WEFT0132', 'docs/edge.md, "Not applied, and why"', collect);

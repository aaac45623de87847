/**
 * IST0162 GatewayPortNotDefinedOnService for weft's egress gateway: a Gateway server port that the gateway's Service
 * does not have. `weft up` writes the `istio-egressgateway` Service once, with the ports of the Gateways it starts
 * with, as Istio's installation fixes its egress gateway Service (docs/decisions.md); a Gateway applied later on
 * another port is served by the gateway, but no sidecar can route to the Service on that port. Without such a Service
 * (files analyzed before `weft up`) there is nothing to compare against, and `weft up` will make the Service from
 * these Gateways.
 */
import type { GatewaySpec } from '../config/kinds/gateway.js';
import { selects } from '../control/registry/index.js';
import { EGRESS_GATEWAY_LABELS, EGRESS_GATEWAY_NAME } from '../mesh/egress-gateway.js';
import type { Check } from './context.js';
import type { Finding } from './finding.js';

/** Whether the selector picks the egress gateway: every label it names is one of the gateway's. */
function selectsEgressGateway(selector: Record<string, string> | undefined): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && selects(selector, EGRESS_GATEWAY_LABELS);
}

export const checkEgressGatewayServicePorts: Check = (ctx) => {
  const out: Finding[] = [];
  const services = ctx.snapshot.registry.services.filter((s) => s.name === EGRESS_GATEWAY_NAME && s.namespace === ctx.rootNamespace);
  if (services.length === 0) return out;
  const ports = new Set(services.flatMap((s) => s.ports.map((p) => p.port)));
  for (const gw of ctx.of<GatewaySpec>('Gateway')) {
    if (!selectsEgressGateway(gw.spec.selector)) continue;
    (gw.spec.servers ?? []).forEach((server, i) => {
      if (ports.has(server.port.number)) return;
      out.push(ctx.finding(gw.entry, {
        code: 'IST0162', severity: 'warning', path: ['spec', 'servers', i, 'port', 'number'],
        message: `The gateway is listening on a target port (port ${server.port.number}) that is not defined in the Service associated with its workload (${EGRESS_GATEWAY_NAME}.${ctx.rootNamespace}; ports ${[...ports].sort((a, b) => a - b).join(', ')})`,
        fix: `use a port of the ${EGRESS_GATEWAY_NAME} Service, or put the server in the Gateways \`weft up\` starts with (it makes the Service from their ports)`,
      }));
    });
  }
  return out;
};

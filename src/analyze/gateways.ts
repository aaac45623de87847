/**
 * Gateway checks: a selector no gateway workload answers (IST0101), a server port its workloads do not expose
 * (IST0104), two Gateways on one workload and port with overlapping hosts (IST0145).
 */
import type { GatewaySpec } from '../config/kinds/gateway.js';
import { selects } from '../control/registry/index.js';
import { GATEWAY_LABELS } from '../mesh/ingress-gateway.js';
import { EGRESS_GATEWAY_LABELS } from '../mesh/egress-gateway.js';
import type { Check, Item } from './context.js';
import type { Finding } from './finding.js';
import { hostsOverlap, splitNamespacedHost } from './hosts.js';

/** weft's own ingress and egress gateways bind every port their Gateways name, so a Gateway selecting one has every port. */
function selectsBuiltInGateway(selector: Record<string, string> | undefined): boolean {
  return selects(selector, GATEWAY_LABELS) || selects(selector, EGRESS_GATEWAY_LABELS);
}

/** IST0101 for a Gateway selector that matches no gateway workload; IST0104 GatewayPortNotOnWorkload. */
export const checkGatewayWorkloads: Check = (ctx) => {
  const out: Finding[] = [];
  const reg = ctx.snapshot.registry;
  for (const gw of ctx.of<GatewaySpec>('Gateway')) {
    const selector = gw.spec.selector;
    if (selector === undefined || Object.keys(selector).length === 0 || selectsBuiltInGateway(selector)) continue;
    const workloads = reg.workloads.filter((w) => selects(selector, w.labels));
    const text = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
    if (workloads.length === 0) {
      out.push(ctx.finding(gw.entry, {
        code: 'IST0101', severity: 'error', path: ['spec', 'selector'],
        message: `Referenced selector not found: "${text}"`,
        fix: `label the gateway Workload with ${text}, or select weft's ingress gateway with istio=ingressgateway (or its egress gateway with istio=egressgateway)`,
      }));
      continue;
    }
    const exposed = new Set<number>();
    for (const w of workloads) {
      for (const p of w.ports) exposed.add(p.containerPort);
      for (const s of reg.services.filter((svc) => svc.namespace === w.namespace && selects(svc.selector, w.labels))) {
        for (const p of s.ports) exposed.add(p.port);
      }
    }
    (gw.spec.servers ?? []).forEach((server, i) => {
      if (exposed.has(server.port.number)) return;
      out.push(ctx.finding(gw.entry, {
        code: 'IST0104', severity: 'warning', path: ['spec', 'servers', i, 'port', 'number'],
        message: `The gateway refers to a port that is not exposed on the workload (pod selector ${text}; port ${server.port.number})`,
        fix: `add port ${server.port.number} to the gateway Workload (or its Service), or use a port it exposes`,
      }));
    });
  }
  return out;
};

function selectorKey(gw: Item<GatewaySpec>): string {
  return JSON.stringify(Object.entries(gw.spec.selector ?? {}).sort());
}

/** IST0145 ConflictingGateways: same workload selector and port, hosts in common. */
export const checkConflictingGateways: Check = (ctx) => {
  const out: Finding[] = [];
  const gateways = ctx.of<GatewaySpec>('Gateway');
  for (const gw of gateways) {
    (gw.spec.servers ?? []).forEach((server, i) => {
      const conflicts = gateways.filter((other) => other !== gw && selectorKey(other) === selectorKey(gw) && (other.spec.servers ?? []).some((o) =>
        o.port.number === server.port.number &&
        o.hosts.some((oh) => server.hosts.some((h) => hostsOverlap(splitNamespacedHost(h).host, splitNamespacedHost(oh).host)))));
      if (conflicts.length === 0) return;
      const selector = Object.entries(gw.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
      out.push(ctx.finding(gw.entry, {
        code: 'IST0145', severity: 'error', path: ['spec', 'servers', i],
        message: `Conflict with gateways ${conflicts.map((c) => `${c.namespace}/${c.name}`).join(',')} (workload selector ${selector}, port ${server.port.number}, hosts ${server.hosts.join(',')})`,
        fix: 'serve these hosts from one Gateway, or give the servers hosts that do not overlap',
      }));
    });
  }
  return out;
};

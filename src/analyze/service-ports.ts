/** IST0118 PortNameIsNotUnderNamingConvention: a Service port whose protocol Istio has to guess. */
import type { ServiceSpec } from '../config/kinds/service.js';
import type { Check } from './context.js';
import type { Finding } from './finding.js';

// Istio's protocol prefixes for port names: `<protocol>[-<suffix>]`.
const PROTOCOLS = new Set(['http', 'http2', 'https', 'grpc', 'grpc-web', 'mongo', 'mysql', 'redis', 'tcp', 'tls', 'udp']);

function followsConvention(name: string | undefined): boolean {
  if (name === undefined || name === '') return false;
  const lower = name.toLowerCase();
  if (PROTOCOLS.has(lower)) return true;
  return [...PROTOCOLS].some((p) => lower.startsWith(`${p}-`));
}

export const checkServicePortNames: Check = (ctx) => {
  const out: Finding[] = [];
  for (const svc of ctx.of<ServiceSpec>('Service')) {
    (svc.spec.ports ?? []).forEach((p, i) => {
      if (p.appProtocol !== undefined || followsConvention(p.name)) return;
      out.push(ctx.finding(svc.entry, {
        code: 'IST0118', severity: 'info', path: ['spec', 'ports', i],
        message: `Port name ${p.name ?? '(none)'} (port: ${p.port}, targetPort: ${p.targetPort ?? p.port}) doesn't follow the naming convention of Istio port`,
        fix: 'name the port <protocol>[-<suffix>] (http, http2, https, grpc, grpc-web, mongo, mysql, redis, tcp, tls, udp) or set appProtocol',
      }));
    });
  }
  return out;
};

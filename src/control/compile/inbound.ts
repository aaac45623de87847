/**
 * The inbound side of one sidecar: its app ports, their mTLS modes, the service ports that lead to them, and the
 * LocalRateLimitPolicies its sidecar enforces.
 */
import type { InboundConfig } from '../../proxyconfig/types.js';
import type { RegistryWorkload } from '../registry/index.js';
import { servicesOf, targetPortOn } from '../registry/index.js';
import { modeForPort, peerAuthnOf } from './peer-authentication.js';
import { compileLocalRateLimits } from './local-rate-limit.js';
import type { MeshSnapshot } from './snapshot.js';

export function compileInbound(snap: MeshSnapshot, w: RegistryWorkload): InboundConfig {
  const authn = peerAuthnOf(snap, w);
  const servicePorts = servicesOf(snap.registry, w).flatMap((svc) =>
    svc.ports.flatMap((p) => {
      const targetPort = targetPortOn(w, p);
      return targetPort === undefined ? [] : [{ host: svc.host, port: p.port, targetPort }];
    }),
  );
  const ports = w.ports.map((p) => ({ port: p.containerPort, name: p.name, protocol: p.protocol, mode: modeForPort(authn, p.containerPort) }));
  // A port-level rule for a port the Workload does not declare still governs traffic to it.
  for (const [port, mode] of authn.portModes) {
    if (!ports.some((p) => p.port === port)) ports.push({ port, name: '', protocol: 'http', mode });
  }
  const rateLimits = compileLocalRateLimits(snap.localRateLimitPolicies, snap.mesh.trustDomain, w);
  // Absent rather than empty, so a mesh without the kind compiles to the same bytes as before it existed.
  return { defaultMode: authn.defaultMode, ports, servicePorts, ...(rateLimits === undefined ? {} : { rateLimits }) };
}

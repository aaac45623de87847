/** The inbound side of one sidecar: its app ports, their mTLS modes, and the service ports that lead to them. */
import type { InboundConfig } from '../../proxyconfig/types.js';
import type { RegistryWorkload } from '../registry/index.js';
import { servicesOf, targetPortOn } from '../registry/index.js';
import { modeForPort, peerAuthnOf } from './peer-authentication.js';
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
  return { defaultMode: authn.defaultMode, ports, servicePorts };
}

/** Outbound services for one proxy: every service with the names it answers to from the proxy's namespace. */
import type { OutboundService } from '../../proxyconfig/types.js';
import { SIDECAR_INBOUND_PORT } from '../../proxyconfig/types.js';
import type { RegistryService } from '../registry/index.js';
import { targetPortOn, workloadsOf } from '../registry/index.js';
import { effectivePeerAuthn, modeForPort } from './peer-authentication.js';
import type { MeshSnapshot } from './snapshot.js';

/** Kubernetes DNS search order: a short name means the caller's namespace. */
export function serviceAliases(svc: RegistryService, fromNamespace: string): string[] {
  const { name, namespace, host } = svc;
  const qualified = [`${name}.${namespace}`, `${name}.${namespace}.svc`, host];
  return namespace === fromNamespace ? [name, ...qualified] : qualified;
}

export function compileOutbound(snap: MeshSnapshot, fromNamespace: string): OutboundService[] {
  const { registry, mesh } = snap;
  return registry.services.map((svc) => {
    const backends = workloadsOf(registry, svc).filter((w) => w.ready);
    const authn = new Map(backends.map((w) => [w, effectivePeerAuthn(snap.peerAuthentications, mesh.rootNamespace, w)]));
    return {
      host: svc.host,
      namespace: svc.namespace,
      aliases: serviceAliases(svc, fromNamespace),
      ports: svc.ports.map((p) => ({
        port: p.port,
        name: p.name,
        protocol: p.protocol,
        endpoints: backends.flatMap((w) => {
          const targetPort = targetPortOn(w, p);
          if (targetPort === undefined || w.podIP === undefined) return [];
          return [
            {
              address: w.podIP,
              inboundPort: SIDECAR_INBOUND_PORT,
              targetPort,
              spiffeId: `spiffe://${mesh.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`,
              mtls: modeForPort(authn.get(w)!, targetPort) !== 'DISABLE',
              workload: `${w.namespace}/${w.name}`,
            },
          ];
        }),
      })),
    };
  });
}

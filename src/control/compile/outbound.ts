/**
 * Outbound services for one proxy: every service with the names it answers to from the proxy's namespace. The
 * result depends only on that namespace, so it is compiled once per namespace per snapshot and shared; a service's
 * ports and endpoints do not depend on the caller at all and are built once per snapshot.
 */
import type { OutboundService, ProxyConfig } from '../../proxyconfig/types.js';
import { SIDECAR_INBOUND_PORT } from '../../proxyconfig/types.js';
import type { RegistryService } from '../registry/index.js';
import { targetPortOn, workloadsOf } from '../registry/index.js';
import { modeForPort, peerAuthnOf } from './peer-authentication.js';
import { perSnapshot, sharedSection } from './snapshot-memo.js';
import type { SharedSection } from './snapshot-memo.js';
import type { MeshSnapshot } from './snapshot.js';

/** Kubernetes DNS search order: a short name means the caller's namespace. */
export function serviceAliases(svc: RegistryService, fromNamespace: string): string[] {
  const { name, namespace, host } = svc;
  const qualified = [`${name}.${namespace}`, `${name}.${namespace}.svc`, host];
  return namespace === fromNamespace ? [name, ...qualified] : qualified;
}

type OutboundPort = OutboundService['ports'][number];

/** Every service's ports with their ready endpoints, in registry order. */
function servicePorts(snap: MeshSnapshot): ReadonlyMap<RegistryService, OutboundPort[]> {
  return perSnapshot(snap, 'outbound-ports', () => {
    const { registry, mesh } = snap;
    const out = new Map<RegistryService, OutboundPort[]>();
    for (const svc of registry.services) {
      const backends = workloadsOf(registry, svc).filter((w) => w.ready);
      out.set(
        svc,
        svc.ports.map((p) => ({
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
                mtls: modeForPort(peerAuthnOf(snap, w), targetPort) !== 'DISABLE',
                workload: `${w.namespace}/${w.name}`,
              },
            ];
          }),
        })),
      );
    }
    return out;
  });
}

/** The outbound section as seen from one namespace: the same object for every proxy in it. */
export function outboundSection(snap: MeshSnapshot, fromNamespace: string): SharedSection<ProxyConfig['outbound']> {
  return perSnapshot(snap, `outbound:${fromNamespace}`, () => {
    const ports = servicePorts(snap);
    const services = snap.registry.services.map((svc) => ({
      host: svc.host,
      namespace: svc.namespace,
      aliases: serviceAliases(svc, fromNamespace),
      ports: ports.get(svc) ?? [],
      addresses: [],
    }));
    return sharedSection({ services, externals: [], trafficPolicy: snap.mesh.outboundTrafficPolicy.mode });
  });
}

export function compileOutbound(snap: MeshSnapshot, fromNamespace: string): OutboundService[] {
  return outboundSection(snap, fromNamespace).value.services;
}

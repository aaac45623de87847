/**
 * The service registry: services (v1 Service), the workloads behind them (Workload + the status the runtime
 * reports) and ServiceEntries, as plain data built from the store's resources. Pure: the same resources give the
 * same registry.
 */
import type { Resource } from '../../config/resource.js';
import type { ServiceSpec } from '../../config/kinds/service.js';
import type { WorkloadSpec, WorkloadStatus } from '../../config/kinds/workload.js';
import type { PortProtocol } from '../../proxyconfig/types.js';
import { portProtocol } from './port-protocol.js';
import { exportToAnnotation } from './export-to.js';
import type { ExportTo } from './export-to.js';
import { serviceEntryFrom } from './service-entries.js';
import { hasSidecar } from './sidecar-presence.js';
import type { RegistryServiceEntry } from './service-entries.js';

export { selects, servicesOf, workloadNamed, workloadsOf } from './selection.js';
export { isExportedTo } from './export-to.js';
export type { ExportTo } from './export-to.js';
export type { RegistryServiceEntry } from './service-entries.js';

export interface RegistryServicePort {
  name: string;
  port: number;
  /** A number, a named workload port, or absent (= port). */
  targetPort: number | string | undefined;
  protocol: PortProtocol;
}

export interface RegistryService {
  namespace: string;
  name: string;
  /** name.namespace.svc.<domain> */
  host: string;
  selector: Record<string, string> | undefined;
  ports: RegistryServicePort[];
  /** From the `networking.istio.io/exportTo` annotation. */
  exportTo: ExportTo;
  /** spec.clusterIP as written: an address to pin the service's VIP to, or `None` for a headless service. */
  clusterIP: string | undefined;
}

export interface RegistryWorkload {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  serviceAccount: string;
  ports: { name: string; containerPort: number; protocol: PortProtocol }[];
  podIP: string | undefined;
  ready: boolean;
  /** False for a pod without a sidecar (an egress gateway): reached on its own ports, not a sidecar's inbound. */
  sidecar: boolean;
}

export interface Registry {
  services: RegistryService[];
  workloads: RegistryWorkload[];
  serviceEntries: RegistryServiceEntry[];
}

/** Kubernetes' cluster domain; Istio's FQDNs end in it regardless of the trust domain. */
export const CLUSTER_DOMAIN = 'cluster.local';

/**
 * The registry object of each frozen resource (the control plane's resource mirror hands out deep-frozen objects,
 * the same one while the resource is unchanged): it is then the same object in every registry, so compile results
 * kept per registry object carry over from one snapshot to the next (compile/policy-epoch.ts).
 */
const ofFrozen = new WeakMap<Resource, RegistryService | RegistryWorkload>();

function remembered<T extends RegistryService | RegistryWorkload>(r: Resource, make: (r: Resource) => T): T {
  if (!Object.isFrozen(r)) return make(r);
  let v = ofFrozen.get(r) as T | undefined;
  if (v === undefined) {
    v = make(r);
    ofFrozen.set(r, v);
  }
  return v;
}

export function buildRegistry(resources: readonly Resource[]): Registry {
  const services: RegistryService[] = [];
  const workloads: RegistryWorkload[] = [];
  const serviceEntries: RegistryServiceEntry[] = [];
  for (const r of resources) {
    if (r.kind === 'Service') services.push(remembered(r, serviceOf));
    else if (r.kind === 'Workload') workloads.push(remembered(r, workloadOf));
    else if (r.kind === 'ServiceEntry') serviceEntries.push(serviceEntryFrom(r));
  }
  return { services, workloads, serviceEntries };
}

function serviceOf(r: Resource): RegistryService {
  const spec = r.spec as ServiceSpec;
  return {
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    host: `${r.metadata.name}.${r.metadata.namespace}.svc.${CLUSTER_DOMAIN}`,
    selector: spec.selector,
    ports: (spec.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      targetPort: p.targetPort,
      protocol: portProtocol(p.name, p.appProtocol),
    })),
    exportTo: exportToAnnotation(r.metadata.annotations),
    clusterIP: spec.clusterIP,
  };
}

function workloadOf(r: Resource): RegistryWorkload {
  const spec = r.spec as WorkloadSpec;
  const status = r.status as WorkloadStatus | undefined;
  return {
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    labels: r.metadata.labels,
    serviceAccount: spec.serviceAccount,
    ports: spec.ports.map((p) => ({ name: p.name ?? '', containerPort: p.containerPort, protocol: portProtocol(p.name, p.appProtocol) })),
    podIP: status?.podIP,
    ready: status?.phase === 'Running' && status.podIP !== undefined,
    sidecar: hasSidecar(r.metadata.annotations),
  };
}

/** The app port behind a service port on one workload, or undefined when a named target port is missing. */
export function targetPortOn(w: RegistryWorkload, p: RegistryServicePort): number | undefined {
  if (p.targetPort === undefined) return p.port;
  if (typeof p.targetPort === 'number') return p.targetPort;
  return w.ports.find((wp) => wp.name === p.targetPort)?.containerPort;
}

/**
 * The egress gateway as the registry sees it: what Istio's installation puts beside its egress gateway deployment,
 * written as weft resources in the root namespace. A v1 Service `istio-egressgateway` (so
 * `istio-egressgateway.<root>.svc.cluster.local` is a destination, as Istio's tasks route to it) with the ports of
 * the Gateway servers that select the gateway, and a Workload describing the gateway's pod (its labels, service
 * account, command and ports) annotated `sidecar.istio.io/inject: "false"`: the gateway is a proxy itself, so its
 * endpoints are dialled on the server ports directly, not on a sidecar's inbound port. `weft up` applies both and
 * records the pod's address in the Workload's status, as it does for every pod; the registry then builds the
 * service and its endpoint with the code that builds every other one.
 */
import type { LoadedResource } from '../config/load.js';
import type { Resource } from '../config/resource.js';
import type { ServiceSpec } from '../config/kinds/service.js';
import type { WorkloadSpec } from '../config/kinds/workload.js';
import type { GatewaySpec } from '../config/kinds/gateway.js';
import { NO_SIDECAR_ANNOTATION } from '../control/registry/sidecar-presence.js';
import { EGRESS_GATEWAY_LABELS, EGRESS_GATEWAY_NAME, EGRESS_GATEWAY_SERVICE_ACCOUNT, EGRESS_GATEWAY_UID } from './egress-gateway.js';

/** Istio's gateway protocol → the appProtocol that gives the service port the same protocol in the registry. */
const APP_PROTOCOL: Readonly<Record<string, string>> = {
  HTTP: 'http',
  HTTP2: 'http2',
  GRPC: 'grpc',
  HTTPS: 'tls',
  TLS: 'tls',
  TCP: 'tcp',
  MONGO: 'tcp',
  REDIS: 'tcp',
};

interface GatewayPort {
  number: number;
  protocol: string;
}

function selectsEgressGateway(spec: GatewaySpec): boolean {
  const selector = spec.selector ?? {};
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => EGRESS_GATEWAY_LABELS[k] === v);
}

/**
 * Istio's egress gateway Service as its installation makes it: 80 (http2) and 443 (https), whatever Gateway is
 * applied later; a Gateway server on another port adds that port.
 */
const ISTIO_DEFAULT_PORTS: readonly GatewayPort[] = [
  { number: 80, protocol: 'HTTP2' },
  { number: 443, protocol: 'HTTPS' },
];

/** Each port of the Gateway servers that select the egress gateway, with the first server's protocol on that port. */
export function egressGatewayPorts(resources: readonly LoadedResource[]): GatewayPort[] {
  const byNumber = new Map<number, GatewayPort>();
  for (const { resource } of resources) {
    if (resource.kind !== 'Gateway') continue;
    const spec = resource.spec as GatewaySpec;
    if (!selectsEgressGateway(spec)) continue;
    for (const s of spec.servers ?? []) {
      if (!byNumber.has(s.port.number)) byNumber.set(s.port.number, { number: s.port.number, protocol: s.port.protocol.toUpperCase() });
    }
  }
  for (const p of ISTIO_DEFAULT_PORTS) if (!byNumber.has(p.number)) byNumber.set(p.number, p);
  return [...byNumber.values()].sort((a, b) => a.number - b.number);
}

export interface EgressGatewayService {
  service: Resource<ServiceSpec>;
  workload: Resource<WorkloadSpec>;
}

/**
 * The Service and Workload for the egress gateway of `namespace`, serving `ports`, run by `command`. `served`: on
 * loopback, where each server port is really served (a free loopback port): the endpoint's target port.
 */
export function egressGatewayService(
  namespace: string,
  ports: readonly GatewayPort[],
  command: { command: string; args: readonly string[] },
  served: ReadonlyMap<number, number> = new Map(),
): EgressGatewayService {
  const named = ports.map((p) => {
    const appProtocol = APP_PROTOCOL[p.protocol] ?? 'tcp';
    return { name: `${p.protocol.toLowerCase()}-${p.number}`, port: p.number, targetPort: served.get(p.number) ?? p.number, appProtocol };
  });
  const service: Resource<ServiceSpec> = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: EGRESS_GATEWAY_NAME, namespace, labels: { ...EGRESS_GATEWAY_LABELS }, annotations: {} },
    spec: { selector: { ...EGRESS_GATEWAY_LABELS }, ports: named.map((p) => ({ name: p.name, protocol: 'TCP', appProtocol: p.appProtocol, port: p.port, targetPort: p.targetPort })) },
  };
  const workload: Resource<WorkloadSpec> = {
    apiVersion: 'weft.dev/v1alpha1',
    kind: 'Workload',
    metadata: { name: EGRESS_GATEWAY_NAME, namespace, labels: { ...EGRESS_GATEWAY_LABELS }, annotations: { [NO_SIDECAR_ANNOTATION]: 'false' } },
    spec: {
      serviceAccount: EGRESS_GATEWAY_SERVICE_ACCOUNT,
      command: [command.command, ...command.args],
      env: {},
      ports: named.map((p) => ({ name: p.name, containerPort: p.targetPort, protocol: 'TCP', appProtocol: p.appProtocol })),
      securityContext: { runAsUser: EGRESS_GATEWAY_UID, runAsGroup: EGRESS_GATEWAY_UID, runAsNonRoot: true },
    },
  };
  return { service, workload };
}

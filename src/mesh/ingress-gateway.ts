/**
 * The ingress gateway of a local mesh: the same proxy as every sidecar, run with the gateway role and identity in
 * the root namespace, every server port of the Gateways that select it published on the host: the first on the
 * ingress port, any other where `--publish PORT=HOST_PORT` says, else as its own number.
 */
import fs from 'node:fs';
import type { LoadedResource } from '../config/load.js';
import type { MeshProxyEntry } from './mesh-file.js';
import { SupervisedProcess } from './process-supervisor.js';
import { gatewayApiListenerPorts } from './gateway-api-ports.js';
import type { SupervisorEvents } from './process-supervisor.js';

export const GATEWAY_NAME = 'weft-ingressgateway';
export const GATEWAY_LABELS = { istio: 'ingressgateway', app: GATEWAY_NAME };

export interface IngressGatewayOptions {
  resources: readonly LoadedResource[];
  namespace: string;
  trustDomain: string;
  ingressPort: number;
  /** `--publish`: Gateway server port → host port, over the defaults. */
  publish?: ReadonlyMap<number, number>;
  /** How the proxy is run, given the host ports it must bind (a privileged one needs a capability). */
  command: (hostPorts: readonly number[]) => { command: string; args: string[] };
  logFile: string;
  /** The proxy environment for an identity, with a fresh bootstrap token (tokens are single-use). */
  proxyEnv: (identity: { namespace: string; name: string; serviceAccount: string }) => Promise<NodeJS.ProcessEnv>;
  onExit: NonNullable<SupervisorEvents['onExit']>;
  /** Every (re)start: the gateway's new pid is news for mesh.json. */
  onStart: NonNullable<SupervisorEvents['onStart']>;
  /** Where the gateway serves its metrics on 127.0.0.1 (for Prometheus); undefined: a port the OS picks. */
  adminPort?: number;
}

export interface IngressGateway {
  process: SupervisedProcess;
  entry: MeshProxyEntry;
  /** The first Gateway server port (published on the ingress port unless --publish names it), if any. */
  published: number | undefined;
  /** Every server port → the host port it is published on. */
  mappings: Map<number, number>;
  /** The host ports (on 127.0.0.1) the gateway binds for the Gateways it starts with. */
  hostPorts: number[];
}

/** A Gateway selecting these labels (Istio's selector: every label it names must match). */
function selectsGateway(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/**
 * Where each server port of the Gateways this gateway serves is published on the host: the first server port on
 * `ingressPort`, a port named by `--publish` where it says, any other as its own number.
 */
export function gatewayHostPorts(
  resources: readonly LoadedResource[],
  ingressPort: number,
  publish: ReadonlyMap<number, number> = new Map(),
  labels: Record<string, string> = GATEWAY_LABELS,
): { published: number | undefined; hostPorts: number[]; mappings: Map<number, number> } {
  const serverPorts = resources
    .filter((r) => r.resource.kind === 'Gateway')
    .map((r) => r.resource.spec as { selector?: Record<string, string>; servers?: { port: { number: number } }[] })
    .filter((spec) => selectsGateway(spec.selector, labels))
    .flatMap((spec) => (spec.servers ?? []).map((s) => s.port.number))
    // Gateway API Gateways (class istio) are served by the ingress gateway.
    .concat(selectsGateway(GATEWAY_LABELS, labels) ? gatewayApiListenerPorts(resources.map((r) => r.resource)) : []);
  const published = serverPorts[0];
  const mappings = new Map<number, number>();
  for (const p of serverPorts) if (!mappings.has(p)) mappings.set(p, publish.get(p) ?? (p === published ? ingressPort : p));
  return { published, hostPorts: [...new Set(mappings.values())], mappings };
}

/** Ports below this need CAP_NET_BIND_SERVICE (Linux: net.ipv4.ip_unprivileged_port_start, 1024 unless changed). */
export function unprivilegedPortStart(read: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): number {
  try {
    const n = Number(read('/proc/sys/net/ipv4/ip_unprivileged_port_start').trim());
    return Number.isInteger(n) && n >= 0 ? n : 1024;
  } catch {
    return 1024;
  }
}

export function ingressGateway(o: IngressGatewayOptions): IngressGateway {
  const identity = { namespace: o.namespace, name: GATEWAY_NAME, serviceAccount: GATEWAY_NAME };
  const { published, hostPorts, mappings } = gatewayHostPorts(o.resources, o.ingressPort, o.publish);
  const process = new SupervisedProcess(
    { name: GATEWAY_NAME, ...o.command(hostPorts), env: {}, logFile: o.logFile },
    {
      prepare: async (s) => ({
        ...s,
        env: {
          ...(await o.proxyEnv(identity)),
          WEFT_ROLE: 'gateway',
          // Every --publish mapping, also for a port no Gateway has yet: a Gateway applied later is published there.
          WEFT_PUBLISH: [...new Map([...(o.publish ?? []), ...mappings])].filter(([from, to]) => from !== to).map(([from, to]) => `${from}=${to}`).join(','),
          WEFT_LABELS: Object.entries(GATEWAY_LABELS).map(([k, v]) => `${k}=${v}`).join(','),
          ...(o.adminPort === undefined ? {} : { WEFT_ADMIN_PORT: String(o.adminPort) }),
        },
      }),
      onExit: o.onExit,
      onStart: o.onStart,
    },
  );
  const entry: MeshProxyEntry = {
    name: GATEWAY_NAME,
    namespace: o.namespace,
    spiffeId: `spiffe://${o.trustDomain}/ns/${o.namespace}/sa/${GATEWAY_NAME}`,
    podIP: '127.0.0.1',
    inbound: '',
    outbound: '',
    listeners: Object.fromEntries([...mappings].map(([from, to]) => [String(from), `127.0.0.1:${to}`])),
    ...(o.adminPort === undefined ? {} : { admin: `127.0.0.1:${o.adminPort}` }),
    proxyPid: null,
    state: 'starting',
  };
  return { process, entry, published, hostPorts, mappings };
}

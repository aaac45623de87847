/**
 * The ingress gateway of a local mesh: the same proxy as every sidecar, run with the gateway role and identity in
 * the root namespace, its first Gateway server port published on the host's ingress port, every other server port
 * bound as its own number.
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
  /** How the proxy is run, given the host ports it must bind (a privileged one needs a capability). */
  command: (hostPorts: readonly number[]) => { command: string; args: string[] };
  logFile: string;
  /** The proxy environment for an identity, with a fresh bootstrap token (tokens are single-use). */
  proxyEnv: (identity: { namespace: string; name: string; serviceAccount: string }) => Promise<NodeJS.ProcessEnv>;
  onExit: NonNullable<SupervisorEvents['onExit']>;
  /** Every (re)start: the gateway's new pid is news for mesh.json. */
  onStart: NonNullable<SupervisorEvents['onStart']>;
}

export interface IngressGateway {
  process: SupervisedProcess;
  entry: MeshProxyEntry;
  /** The Gateway server port published on the host, if any Gateway names one. */
  published: number | undefined;
  /** The host ports (on 127.0.0.1) the gateway binds for the Gateways it starts with. */
  hostPorts: number[];
}

/** The first Gateway server port (published on `ingressPort`) and every host port the gateway will bind. */
export function gatewayHostPorts(resources: readonly LoadedResource[], ingressPort: number): { published: number | undefined; hostPorts: number[] } {
  const serverPorts = resources
    .filter((r) => r.resource.kind === 'Gateway')
    .flatMap((r) => ((r.resource.spec as { servers?: { port: { number: number } }[] }).servers ?? []).map((s) => s.port.number))
    .concat(gatewayApiListenerPorts(resources.map((r) => r.resource)));
  const published = serverPorts[0];
  return { published, hostPorts: [...new Set(serverPorts.map((p) => (p === published ? ingressPort : p)))] };
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
  const { published, hostPorts } = gatewayHostPorts(o.resources, o.ingressPort);
  const process = new SupervisedProcess(
    { name: GATEWAY_NAME, ...o.command(hostPorts), env: {}, logFile: o.logFile },
    {
      prepare: async (s) => ({
        ...s,
        env: {
          ...(await o.proxyEnv(identity)),
          WEFT_ROLE: 'gateway',
          WEFT_PUBLISH: published === undefined ? '' : `${published}=${o.ingressPort}`,
          WEFT_LABELS: Object.entries(GATEWAY_LABELS).map(([k, v]) => `${k}=${v}`).join(','),
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
    listeners: published === undefined ? {} : { [String(published)]: `127.0.0.1:${o.ingressPort}` },
    proxyPid: null,
    state: 'starting',
  };
  return { process, entry, published, hostPorts };
}

/**
 * The egress gateway of a local mesh: the same proxy as every sidecar and the ingress gateway, run with the gateway
 * role and Istio's egress gateway labels, identity and name in the root namespace. In netns mode it is a pod of its
 * own (a network namespace on the mesh bridge, no capture: it is the exit, not a client), and it serves the Gateway
 * servers that select it on its pod address, under a uid of its own with no capability.
 */
import type { LoadedResource } from '../config/load.js';
import type { MeshProxyEntry } from './mesh-file.js';
import { SupervisedProcess } from './process-supervisor.js';
import type { SupervisorEvents } from './process-supervisor.js';
import type { PrivilegeDrop } from './netns/pod-identity.js';
import { asIdentity } from './netns/pod-identity.js';

/** Istio's names for its egress gateway (deployment, service account, labels), so its tasks apply as written. */
export const EGRESS_GATEWAY_NAME = 'istio-egressgateway';
export const EGRESS_GATEWAY_SERVICE_ACCOUNT = 'istio-egressgateway-service-account';
export const EGRESS_GATEWAY_LABELS: Readonly<Record<string, string>> = { istio: 'egressgateway', app: EGRESS_GATEWAY_NAME };

/**
 * The egress gateway's uid and gid: not root, not the sidecars' 1337, not the ingress gateway's 1339 (with no PID
 * namespace one uid could signal or ptrace the other) and not any pod app's (those start at 200000).
 */
export const EGRESS_GATEWAY_UID = 1340;

interface GatewayLike {
  kind: string;
  spec: unknown;
}

/** Istio's selector rule: every label the Gateway names must match (an empty selector matches every gateway). */
function selectsLabels(spec: unknown, labels: Readonly<Record<string, string>>): boolean {
  const selector = (spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** True when some Gateway selects the egress gateway's labels: only then does `weft up` start one. */
export function wantsEgressGateway(resources: readonly GatewayLike[]): boolean {
  return resources.some((r) => r.kind === 'Gateway' && Object.keys((r.spec as { selector?: object }).selector ?? {}).length > 0 && selectsLabels(r.spec, EGRESS_GATEWAY_LABELS));
}

/** Every Gateway server port the egress gateway serves, for the start-up wait. */
export function egressServerPorts(resources: readonly LoadedResource[]): number[] {
  const ports = resources
    .filter((r) => r.resource.kind === 'Gateway' && selectsLabels(r.resource.spec, EGRESS_GATEWAY_LABELS))
    .flatMap((r) => ((r.resource.spec as { servers?: { port: { number: number } }[] }).servers ?? []).map((s) => s.port.number));
  return [...new Set(ports)].sort((a, b) => a - b);
}

export interface EgressGatewayOptions {
  namespace: string;
  trustDomain: string;
  podIP: string;
  /** Its pod's network namespace; undefined on loopback, where it runs on the host beside the sidecars. */
  netns: string | undefined;
  /** How a command enters the gateway's network namespace. */
  inPod: (pod: { netns: string }, command: string, args: readonly string[]) => { command: string; args: string[] };
  /** Undefined on loopback without root: it runs as the user running `weft up`. */
  drop: PrivilegeDrop | undefined;
  /** Loopback: Gateway server port → the free loopback port it is served on (WEFT_PUBLISH). */
  publish?: ReadonlyMap<number, number>;
  proxy: { command: string; args: string[] };
  logFile: string;
  /** The proxy environment for an identity, with a fresh bootstrap token (tokens are single-use). */
  proxyEnv: (identity: { namespace: string; name: string; serviceAccount: string }) => Promise<NodeJS.ProcessEnv>;
  onExit: NonNullable<SupervisorEvents['onExit']>;
  onStart: NonNullable<SupervisorEvents['onStart']>;
}

export interface EgressGateway {
  process: SupervisedProcess;
  entry: MeshProxyEntry;
}

/** The gateway's command: inside its pod, dropped to its own uid with no capability and no_new_privs. */
export function egressGatewayCommand(o: Pick<EgressGatewayOptions, 'netns' | 'inPod' | 'drop' | 'proxy'>): { command: string; args: string[] } {
  const dropped = o.drop === undefined ? { command: o.proxy.command, args: [...o.proxy.args] } : asIdentity(o.drop, { uid: EGRESS_GATEWAY_UID, gid: EGRESS_GATEWAY_UID }, o.proxy.command, o.proxy.args);
  return o.netns === undefined ? dropped : o.inPod({ netns: o.netns }, dropped.command, dropped.args);
}

export function egressGateway(o: EgressGatewayOptions): EgressGateway {
  const identity = { namespace: o.namespace, name: EGRESS_GATEWAY_NAME, serviceAccount: EGRESS_GATEWAY_SERVICE_ACCOUNT };
  const process = new SupervisedProcess(
    { name: EGRESS_GATEWAY_NAME, ...egressGatewayCommand(o), env: {}, logFile: o.logFile },
    {
      prepare: async (s) => ({
        ...s,
        env: {
          ...(await o.proxyEnv(identity)),
          WEFT_ROLE: 'gateway',
          WEFT_LABELS: Object.entries(EGRESS_GATEWAY_LABELS).map(([k, v]) => `${k}=${v}`).join(','),
          ...(o.publish === undefined ? {} : { WEFT_PUBLISH: [...o.publish].map(([from, to]) => `${from}=${to}`).join(',') }),
        },
      }),
      onExit: o.onExit,
      onStart: o.onStart,
    },
  );
  const entry: MeshProxyEntry = {
    name: EGRESS_GATEWAY_NAME,
    namespace: o.namespace,
    spiffeId: `spiffe://${o.trustDomain}/ns/${o.namespace}/sa/${EGRESS_GATEWAY_SERVICE_ACCOUNT}`,
    podIP: o.podIP,
    ...(o.netns === undefined ? {} : { netns: o.netns }),
    inbound: '',
    outbound: '',
    proxyPid: null,
    state: 'starting',
  };
  return { process, entry };
}

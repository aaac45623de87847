/**
 * What a pod's two processes, and the ingress gateway, are started as. In a netns pod both run inside its network
 * namespace and neither as root: the sidecar as uid 1337, which its capture rules let through, and the app as an
 * identity of its own pod's (netns/pod-identity.ts). On loopback both run as `weft up` itself, as before there were
 * namespaces. The gateway parses what arrives from outside the mesh, so it never keeps root, in either mode.
 */
import type { Resource } from '../config/resource.js';
import type { WorkloadSpec } from '../config/kinds/workload.js';
import { SIDECAR_UID } from './netns/capture-rules.js';
import { appIdentity, asIdentity, podAppIdentity } from './netns/pod-identity.js';
import type { KeptCapability, PrivilegeDrop } from './netns/pod-identity.js';

/**
 * The ingress gateway's uid and gid: its own, not the sidecars' 1337 (with no PID namespace, one uid could signal
 * or ptrace the other) and not any pod app's (those start at 200000).
 */
export const GATEWAY_UID = 1339;

export interface ProcessCommand {
  command: string;
  args: string[];
}

/** A netns pod: its namespace, how to enter it, and how to leave root behind. */
export interface NetnsPodContext {
  netns: string;
  podIP: string;
  inPod: (pod: { netns: string }, command: string, args: readonly string[]) => ProcessCommand;
  drop: PrivilegeDrop;
}

export function sidecarCommand(pod: NetnsPodContext | undefined, proxy: ProcessCommand): ProcessCommand {
  if (pod === undefined) return proxy;
  const dropped = asIdentity(pod.drop, { uid: SIDECAR_UID, gid: SIDECAR_UID }, proxy.command, proxy.args);
  return pod.inPod(pod, dropped.command, dropped.args);
}

/** The Workload's command as its pod runs it; `log` hears what a person starting the mesh should know. */
export function appCommand(pod: NetnsPodContext | undefined, resource: Resource<WorkloadSpec>, log: (line: string) => void): ProcessCommand {
  const [command, ...args] = resource.spec.command as [string, ...string[]];
  const { namespace, name } = resource.metadata;
  const sc = resource.spec.securityContext;
  if (pod === undefined) {
    if (sc !== undefined) log(`workload ${namespace}/${name}: securityContext applies to netns pods only; on loopback the app runs as weft up does`);
    return { command, args };
  }
  const id = appIdentity(sc, podAppIdentity(pod.podIP));
  if (id === 'root') log(`workload ${namespace}/${name} runs as root (securityContext.runAsUser: 0): its app can undo its own capture`);
  const dropped = asIdentity(pod.drop, id, command, args);
  return pod.inPod(pod, dropped.command, dropped.args);
}

/**
 * The ingress gateway on the host, when `weft up` runs as root: its own uid, no capabilities, an empty bounding set
 * and no_new_privs, keeping CAP_NET_BIND_SERVICE (ambient, so it survives exec) only when `bindsPrivilegedPort`.
 * `drop` undefined: `weft up` is not root (nothing to drop) or has no setpriv (it says so).
 */
export function gatewayCommand(drop: PrivilegeDrop | undefined, bindsPrivilegedPort: boolean, proxy: ProcessCommand): ProcessCommand {
  if (drop === undefined) return proxy;
  const keep: KeptCapability[] = bindsPrivilegedPort ? ['net_bind_service'] : [];
  return asIdentity(drop, { uid: GATEWAY_UID, gid: GATEWAY_UID }, proxy.command, proxy.args, keep);
}

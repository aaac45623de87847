/**
 * What the parts of `weft up` share: the state directory, the mesh's settings, the pod network and privilege drop
 * (netns), the control plane's client, and the hooks that keep mesh.json current. Each part (control plane, pods,
 * gateways) is started by a module of its own that is handed this context.
 */
import { fileURLToPath } from 'node:url';
import type { MeshSettings } from '../config/kinds/mesh-config.js';
import type { ControlClient } from '../cli/client.js';
import type { StateDirLayout } from './state-dir.js';
import type { PodNetwork } from './netns/index.js';
import type { PrivilegeDrop } from './netns/pod-identity.js';

export const START_TIMEOUT_MS = 30_000;

export const WEFT_BIN = fileURLToPath(new URL('../../../bin/weft.js', import.meta.url));

/** The command every proxy (sidecar or gateway) runs. */
export const PROXY_COMMAND = { command: process.execPath, args: [WEFT_BIN, 'proxy'] };

export interface ProxyIdentity {
  namespace: string;
  name: string;
  serviceAccount: string;
}

export interface MeshContext {
  readonly layout: StateDirLayout;
  readonly mesh: MeshSettings;
  readonly log: (line: string) => void;
  /** netns only: the pods' network. */
  readonly network: PodNetwork | undefined;
  /** As root: how pods' processes and gateways leave root behind. */
  readonly drop: PrivilegeDrop | undefined;
  /** netns only: the machine's resolvers, where sidecars forward names that are not the mesh's. */
  readonly dnsUpstream: readonly string[];
  /** The control plane's API client (the admin credential); set once the control plane is up. */
  client(): ControlClient;
  /** True once `weft up` is stopping: exits are then expected, not reported. */
  stopping(): boolean;
  /** Something changed that mesh.json shows (a start, an exit, a restart). */
  changed(): void;
  /** Every process of this mesh carries the marker, so a later start can find what a crash left behind. */
  marked(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The environment a proxy starts with: its identity, every control-plane replica, a single-use bootstrap token. */
  proxyEnv(identity: ProxyIdentity, podIP: string, token: string): NodeJS.ProcessEnv;
}

/** Istio's SPIFFE id for a service account. */
export function spiffeId(mesh: MeshSettings, namespace: string, serviceAccount: string): string {
  return `spiffe://${mesh.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

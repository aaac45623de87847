/**
 * Istio's PeerAuthentication precedence for one workload: workload (selector) < namespace < root namespace, the
 * narrowest that sets a mode wins; port-level settings live only on a selector policy and beat everything for
 * their port; UNSET inherits from the next level up. Among several policies at one level the oldest wins
 * (Istio's rule). weft's default with no policy at all is STRICT (Istio's is PERMISSIVE): secure by default.
 */
import type { PeerAuthenticationSpec } from '../../config/kinds/peer-authentication.js';
import type { PeerAuthnMode } from '../../proxyconfig/types.js';
import { selects } from '../registry/index.js';
import type { RegistryWorkload } from '../registry/index.js';
import { perEpoch } from './snapshot-memo.js';
import type { MeshSnapshot } from './snapshot.js';

export interface PeerAuthnPolicy {
  namespace: string;
  name: string;
  /** ISO time; the oldest policy wins a tie at one level. */
  creationTimestamp: string;
  spec: PeerAuthenticationSpec;
}

export interface EffectivePeerAuthn {
  defaultMode: PeerAuthnMode;
  /** App port → mode, only for ports a port-level rule names. */
  portModes: Map<number, PeerAuthnMode>;
}

export const MESH_DEFAULT_MODE: PeerAuthnMode = 'STRICT';

function oldest(policies: PeerAuthnPolicy[]): PeerAuthnPolicy | undefined {
  return [...policies].sort(
    (a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  )[0];
}

function hasSelector(p: PeerAuthnPolicy): boolean {
  return Object.keys(p.spec.selector?.matchLabels ?? {}).length > 0;
}

function modeOf(p: PeerAuthnPolicy | undefined): PeerAuthnMode | undefined {
  const m = p?.spec.mtls?.mode;
  return m === undefined || m === 'UNSET' ? undefined : m;
}

export function effectivePeerAuthn(
  policies: readonly PeerAuthnPolicy[],
  rootNamespace: string,
  workload: { namespace: string; labels: Record<string, string> },
): EffectivePeerAuthn {
  const mesh = oldest(policies.filter((p) => p.namespace === rootNamespace && !hasSelector(p)));
  const namespace =
    workload.namespace === rootNamespace ? undefined : oldest(policies.filter((p) => p.namespace === workload.namespace && !hasSelector(p)));
  const selected = oldest(
    policies.filter((p) => p.namespace === workload.namespace && hasSelector(p) && selects(p.spec.selector?.matchLabels, workload.labels)),
  );
  const defaultMode = modeOf(selected) ?? modeOf(namespace) ?? modeOf(mesh) ?? MESH_DEFAULT_MODE;
  const portModes = new Map<number, PeerAuthnMode>();
  for (const [port, setting] of Object.entries(selected?.spec.portLevelMtls ?? {})) {
    const m = setting.mode;
    portModes.set(Number(port), m === undefined || m === 'UNSET' ? defaultMode : m);
  }
  return { defaultMode, portModes };
}

export function modeForPort(e: EffectivePeerAuthn, port: number): PeerAuthnMode {
  return e.portModes.get(port) ?? e.defaultMode;
}

/** A workload's effective PeerAuthentication, resolved once per snapshot: both sides of every config ask for it. */
export function peerAuthnOf(snap: MeshSnapshot, w: RegistryWorkload): EffectivePeerAuthn {
  // PeerAuthentications are policy and a workload's object is the same while it is unchanged: kept for the epoch.
  const memo = perEpoch(snap, 'peer-authn', () => new WeakMap<RegistryWorkload, EffectivePeerAuthn>());
  let e = memo.get(w);
  if (!e) {
    e = effectivePeerAuthn(snap.peerAuthentications, snap.mesh.rootNamespace, w);
    memo.set(w, e);
  }
  return e;
}

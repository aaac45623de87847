/**
 * Policy epochs: a run of snapshots whose inputs other than Services and Workloads are the same (every policy
 * resource the same object, the same JWKS documents, the same settings). Within one epoch a compile result that
 * depends only on policy and on one registry object is the same in every snapshot, so a change to one Service
 * recompiles that Service's part of the outbound section, not the thousand others (snapshot-memo.ts `perEpoch`).
 *
 * Objects are known unchanged by identity only when they cannot change: the control plane's resource mirror hands
 * out deep-frozen objects and keeps an object as long as its resource is unchanged. A list holding any unfrozen
 * resource (a test's literals, Secrets unsealed afresh) starts a new epoch every time, which is today's cost and
 * never a stale result.
 */
import type { Resource } from '../../config/resource.js';

/** What the registry is built from; every other kind is policy. */
const REGISTRY_KINDS: ReadonlySet<string> = new Set(['Service', 'Workload']);

interface EpochInputs {
  policy: readonly Resource[];
  jwks: ReadonlyMap<string, string>;
  settings: string;
  epoch: object;
}

/** The last epoch handed out: the control plane builds one snapshot after another from the same mirror. */
let last: EpochInputs | undefined;

/**
 * The epoch of a snapshot built from `resources` (in the store's list order), `jwks` and the settings not in the
 * store (bootstrap mesh settings, service range), given as one string that is equal when they are.
 */
export function policyEpoch(resources: readonly Resource[], jwks: ReadonlyMap<string, string>, settings: string): object {
  const policy = resources.filter((r) => !REGISTRY_KINDS.has(r.kind));
  // A frozen resource's children were frozen first (resource-mirror.ts deepFreeze), so the whole object is fixed.
  const stable = policy.every((r) => Object.isFrozen(r));
  // Snapshots of unfrozen objects (a history replay, a test) get an epoch of their own and leave the slot alone.
  if (!stable) return {};
  if (last !== undefined && last.settings === settings && sameItems(last.policy, policy) && sameDocuments(last.jwks, jwks)) return last.epoch;
  last = { policy, jwks: new Map(jwks), settings, epoch: {} };
  return last.epoch;
}

/** Same length and the same object at every position. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameDocuments(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

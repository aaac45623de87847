/**
 * Istio's mirroring as Envoy's request_mirror_policies: each mirror is drawn on its own percentage, and a mirrored
 * copy is fire-and-forget (its answer is dropped). `random` returns [0, 1).
 */
import type { HttpRoute } from '../proxyconfig/types.js';
import { drawPercent } from './fault.js';

export type Mirror = NonNullable<HttpRoute['mirrors']>[number];

const NONE: readonly Mirror[] = Object.freeze([]);

/** The mirrors this request is copied to; the shared empty list when none. */
export function selectMirrors(route: HttpRoute, random: () => number): readonly Mirror[] {
  const mirrors = route.mirrors;
  if (!mirrors || mirrors.length === 0) return NONE;
  if (mirrors.length === 1) return drawPercent(mirrors[0]!.percent, random) ? mirrors : NONE;
  return mirrors.filter((m) => drawPercent(m.percent, random));
}

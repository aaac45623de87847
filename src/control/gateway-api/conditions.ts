/**
 * Gateway API status conditions with the spec's types and reasons, and the status shapes they sit in. The control
 * plane computes them from the stored resources on every read: they are never written back to the store, so they
 * never show up as a change in history or the audit chain.
 */
export const CONTROLLER_NAME = 'istio.io/gateway-controller';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface ParentRefStatus {
  parentRef: Record<string, unknown>;
  controllerName: string;
  conditions: Condition[];
}

export interface ListenerStatus {
  name: string;
  supportedKinds: { group: string; kind: string }[];
  attachedRoutes: number;
  conditions: Condition[];
}

export interface GatewayStatus {
  conditions: Condition[];
  listeners: ListenerStatus[];
}

export const cond = (type: string, ok: boolean, reason: string, message = ''): Condition => ({ type, status: ok ? 'True' : 'False', reason, message });

/** Why a reference does not resolve: the spec's ResolvedRefs reasons. */
export type RefProblem = { reason: 'RefNotPermitted' | 'BackendNotFound' | 'InvalidKind' | 'UnsupportedValue'; message: string };

/** The first problem wins, as in Istio: one ResolvedRefs condition per parent. */
export function resolvedRefs(problems: readonly RefProblem[]): Condition {
  const p = problems[0];
  return p === undefined ? cond('ResolvedRefs', true, 'ResolvedRefs', 'All references resolved') : cond('ResolvedRefs', false, p.reason, p.message);
}

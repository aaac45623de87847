import type { AuthzDecision } from '../../authz/index.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';

/** The access-log fields of an authorization verdict; the caller never sees these, the operator always does. */
export function authzLogFields(d: AuthzDecision | undefined): Pick<AccessLogEntry, 'authz' | 'dryRun'> {
  const out: Pick<AccessLogEntry, 'authz' | 'dryRun'> = {};
  if (d) addAuthzLogFields(out, d);
  return out;
}

/** The same fields written into an entry being built, without a record of their own to copy. */
export function addAuthzLogFields(entry: Pick<AccessLogEntry, 'authz' | 'dryRun'>, d: AuthzDecision): void {
  entry.authz = { decision: d.decision, policy: d.policy, rule: d.rule };
  if (d.dryRun.length > 0) entry.dryRun = d.dryRun.map((r) => ({ policy: r.policy, rule: r.rule, action: r.action, wouldDeny: r.wouldDeny }));
}

/** How `weft authz check` prints a decision: a sentence for people, a stable JSON object for scripts. */
import type { AuthzDecision, LocalVerdict } from './types.js';

function by(policy: string | null, rule: number | null): string {
  return policy === null ? '' : ` by ${policy} rule ${rule ?? '?'}`;
}

function verdictText(v: LocalVerdict): string {
  if (v.policy !== null) return `${v.decision}${by(v.policy, v.rule)}`;
  return v.decision === 'ALLOW' ? 'ALLOW (no ALLOW policy applies)' : 'DENY (no ALLOW policy matched)';
}

export function formatDecision(d: AuthzDecision, format: 'text' | 'json'): string {
  if (format === 'json') {
    return JSON.stringify({
      decision: d.decision,
      policy: d.policy,
      rule: d.rule,
      ...(d.decision === 'CUSTOM' ? { provider: d.provider ?? '' } : {}),
      dryRun: d.dryRun,
    });
  }
  const lines: string[] = [];
  if (d.decision === 'CUSTOM') {
    lines.push(`CUSTOM: ask provider ${d.provider ?? ''}${by(d.policy, d.rule)}`);
    if (d.afterCustom) lines.push(`  if the provider allows: ${verdictText(d.afterCustom)}`);
  } else {
    lines.push(verdictText({ decision: d.decision, policy: d.policy, rule: d.rule }));
  }
  if (d.audit) lines.push(`  audited by ${d.auditPolicy ?? ''}`);
  for (const r of d.dryRun) {
    const what = r.wouldDeny ? 'would deny' : r.wouldMatch ? 'would match' : 'would not match';
    lines.push(`  dry-run ${r.action} ${r.policy}: ${what}${r.rule === null ? '' : ` (rule ${r.rule})`}`);
  }
  return lines.join('\n');
}

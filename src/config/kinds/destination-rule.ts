/** Istio's networking.istio.io/v1 DestinationRule spec: what happens to traffic after routing picked a host. */
import { z } from 'zod';
import { MatchLabelsSelectorSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';
import { SubsetSchema, TrafficPolicySchema } from './traffic-policy.js';
import { checkTrafficPolicy } from './traffic-policy-check.js';
import { checkExportTo } from './service-entry.js';
import { dns1123LabelProblem, labelValueProblem, qualifiedNameProblem } from '../metadata.js';

export const DestinationRuleSpecSchema = z.strictObject({
  host: z.string().min(1, 'host is required'),
  trafficPolicy: TrafficPolicySchema.optional(),
  subsets: z.array(SubsetSchema).optional(),
  exportTo: z.array(z.string()).optional(),
  workloadSelector: MatchLabelsSelectorSchema.optional(),
});

export type DestinationRuleSpec = z.infer<typeof DestinationRuleSpecSchema>;
export type Subset = z.infer<typeof SubsetSchema>;

/** Istio's ValidateDestinationRule, field by field. */
export function checkDestinationRule(spec: DestinationRuleSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const hostProblem = wildcardDomainProblem(spec.host);
  if (hostProblem !== undefined) issues.push({ path: ['host'], message: hostProblem });
  issues.push(...checkTrafficPolicy(spec.trafficPolicy, ['trafficPolicy']));
  const seen = new Map<string, number>();
  (spec.subsets ?? []).forEach((s, i) => {
    const first = seen.get(s.name);
    if (first !== undefined) issues.push({ path: ['subsets', i, 'name'], message: `duplicate subset "${s.name}" (also subsets[${first}])` });
    else seen.set(s.name, i);
    const nameProblem = dns1123LabelProblem(s.name);
    if (nameProblem !== undefined) issues.push({ path: ['subsets', i, 'name'], message: `subset name ${nameProblem}` });
    for (const [k, v] of Object.entries(s.labels ?? {})) {
      const p = qualifiedNameProblem(k) ?? labelValueProblem(v);
      if (p !== undefined) issues.push({ path: ['subsets', i, 'labels', k], message: p });
    }
    issues.push(...checkTrafficPolicy(s.trafficPolicy, ['subsets', i, 'trafficPolicy']));
  });
  issues.push(...checkExportTo(spec.exportTo));
  issues.push(...checkDuplicates(spec.exportTo ?? []));
  if (spec.workloadSelector !== undefined) issues.push(...checkSelectorRule(spec));
  return issues;
}

function checkDuplicates(exportTo: readonly string[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  exportTo.forEach((e, i) => {
    if (exportTo.indexOf(e) < i) issues.push({ path: ['exportTo', i], message: `duplicate entry "${e}" in exportTo` });
    if (e === '*' && exportTo.length > 1) issues.push({ path: ['exportTo', i], message: 'cannot have both public (*) and non-public exportTo values' });
  });
  return issues;
}

/**
 * A DestinationRule with a workload selector applies only to selected workloads of its own namespace, so Istio
 * refuses to export it anywhere else. The namespace itself is not known here: "." passes, as does one namespace
 * name (which must then be the rule's own; a rule exported elsewhere is never applied).
 */
function checkSelectorRule(spec: DestinationRuleSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const exportTo = spec.exportTo ?? [];
  if (exportTo.length > 1) issues.push({ path: ['exportTo'], message: 'a destination rule with a workloadSelector cannot have multiple entries in exportTo' });
  else if (exportTo[0] === '*' || exportTo[0] === '~') {
    issues.push({ path: ['exportTo', 0], message: 'a destination rule with a workloadSelector cannot be exported beyond its own namespace' });
  }
  for (const [k, v] of Object.entries(spec.workloadSelector?.matchLabels ?? {})) {
    if (k === '') issues.push({ path: ['workloadSelector', 'matchLabels', k], message: 'empty key is not supported in selector' });
    else if (k.includes('*') || v.includes('*')) issues.push({ path: ['workloadSelector', 'matchLabels', k], message: 'wildcard is not supported in selector' });
  }
  return issues;
}

const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/i;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;

/**
 * Istio's ValidateWildcardDomain: DNS-1123 labels (either case), a wildcard only in the first label, an optional
 * trailing dot, and a top-level label that is not all digits.
 */
export function wildcardDomainProblem(host: string): string | undefined {
  if (host.length > 255) return 'host must be at most 255 characters';
  const [first = '', ...rest] = host.split('.');
  if (first.length > 63 || !WILDCARD_LABEL.test(first)) return `host "${host}" is not a valid name (label "${first}" invalid)`;
  if (rest.length === 0) return undefined;
  const top = rest[rest.length - 1] ?? '';
  if (/^\d+$/.test(top)) return `host "${host}" is not a valid name (top-level label "${top}" cannot be all digits)`;
  const bad = rest.find((l, i) => !(i === rest.length - 1 && l === '') && (l.length > 63 || !LABEL.test(l)));
  return bad === undefined ? undefined : `host "${host}" is not a valid name (label "${bad}" invalid)`;
}

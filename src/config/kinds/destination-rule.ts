/** Istio's networking.istio.io/v1 DestinationRule spec: what happens to traffic after routing picked a host. */
import { z } from 'zod';
import { MatchLabelsSelectorSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';
import { SubsetSchema, TrafficPolicySchema } from './traffic-policy.js';

export const DestinationRuleSpecSchema = z.strictObject({
  host: z.string().min(1, 'host is required'),
  trafficPolicy: TrafficPolicySchema.optional(),
  subsets: z.array(SubsetSchema).optional(),
  exportTo: z.array(z.string()).optional(),
  workloadSelector: MatchLabelsSelectorSchema.optional(),
});

export type DestinationRuleSpec = z.infer<typeof DestinationRuleSpecSchema>;
export type Subset = z.infer<typeof SubsetSchema>;

export function checkDestinationRule(spec: DestinationRuleSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Map<string, number>();
  (spec.subsets ?? []).forEach((s, i) => {
    const first = seen.get(s.name);
    if (first !== undefined) issues.push({ path: ['subsets', i, 'name'], message: `duplicate subset "${s.name}" (also subsets[${first}])` });
    else seen.set(s.name, i);
  });
  (spec.trafficPolicy?.portLevelSettings ?? []).forEach((p, i) => {
    if (p.port?.number === undefined) issues.push({ path: ['trafficPolicy', 'portLevelSettings', i, 'port'], message: 'port.number is required' });
  });
  return issues;
}

/** Istio's security.istio.io/v1 PeerAuthentication spec: which mTLS mode a workload's inbound side accepts. */
import { z } from 'zod';
import { MatchLabelsSelectorSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

export const PeerAuthnModeSchema = z.enum(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']);
export type PeerAuthnMode = z.infer<typeof PeerAuthnModeSchema>;

const MutualTlsSchema = z.strictObject({ mode: PeerAuthnModeSchema.optional() });

export const PeerAuthenticationSpecSchema = z.strictObject({
  selector: MatchLabelsSelectorSchema.optional(),
  mtls: MutualTlsSchema.optional(),
  // YAML map keys are port numbers; they arrive as strings.
  portLevelMtls: z
    .record(z.string().regex(/^\d+$/, 'portLevelMtls keys must be port numbers'), MutualTlsSchema)
    .optional(),
});

export type PeerAuthenticationSpec = z.infer<typeof PeerAuthenticationSpecSchema>;

/** Istio's rules: port-level settings only make sense for selected workloads, and the keys are real ports. */
export function checkPeerAuthentication(spec: PeerAuthenticationSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const ports = Object.keys(spec.portLevelMtls ?? {});
  if (ports.length > 0 && Object.keys(spec.selector?.matchLabels ?? {}).length === 0) {
    issues.push({ path: ['portLevelMtls'], message: 'portLevelMtls requires a selector with matchLabels' });
  }
  for (const port of ports) {
    const n = Number(port);
    if (!(n >= 1 && n <= 65535)) issues.push({ path: ['portLevelMtls', port], message: 'port must be 1-65535' });
  }
  return issues;
}

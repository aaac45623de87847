/**
 * weft.dev/v1alpha1 HostClaim: which namespaces may route which hosts, modelled on Aspen Mesh's Traffic Claim
 * Enforcer. A claim in the mesh's root namespace is global and names the namespaces it grants; a claim in any other
 * namespace reserves its hosts for that namespace alone. A VirtualService, ServiceEntry, DestinationRule or Gateway
 * whose host overlaps a claimed host is refused in every namespace the claims covering that host do not grant.
 */
import { z } from 'zod';
import { dns1123LabelProblem } from '../metadata.js';
import type { SpecIssue } from './spec-issue.js';

// A DNS name, optionally with one leading `*.` (a whole domain), or `*` alone (every host).
const CLAIMED_HOST = /^(\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;

export const HostClaimSpecSchema = z.strictObject({
  hosts: z.array(z.string().min(1)).min(1, 'a claim needs at least one host'),
  /** Root namespace only: the namespaces granted the hosts. Elsewhere the claim's own namespace is the only one. */
  namespaces: z.array(z.string().min(1)).optional(),
});

export type HostClaimSpec = z.infer<typeof HostClaimSpecSchema>;

export function checkHostClaim(spec: HostClaimSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  spec.hosts.forEach((h, i) => {
    if (!CLAIMED_HOST.test(h)) issues.push({ path: ['hosts', i], message: 'host must be a lowercase DNS name, optionally starting with "*.", or "*"' });
  });
  (spec.namespaces ?? []).forEach((ns, i) => {
    const problem = dns1123LabelProblem(ns);
    if (problem !== undefined) issues.push({ path: ['namespaces', i], message: problem });
  });
  return issues;
}

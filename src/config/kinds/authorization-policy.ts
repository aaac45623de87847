/**
 * Istio's security.istio.io/v1 AuthorizationPolicy spec: the strict shape (zod) and the semantic rules that a
 * shape cannot express (checkAuthorizationPolicy), as Istio's own validation applies them.
 */
import { z } from 'zod';

const StringList = z.array(z.string());

export const WorkloadSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
});

export const PolicyTargetReferenceSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});

export const AuthzSourceSchema = z.strictObject({
  principals: StringList.optional(),
  notPrincipals: StringList.optional(),
  requestPrincipals: StringList.optional(),
  notRequestPrincipals: StringList.optional(),
  namespaces: StringList.optional(),
  notNamespaces: StringList.optional(),
  serviceAccounts: StringList.optional(),
  notServiceAccounts: StringList.optional(),
  ipBlocks: StringList.optional(),
  notIpBlocks: StringList.optional(),
  remoteIpBlocks: StringList.optional(),
  notRemoteIpBlocks: StringList.optional(),
  trustDomains: StringList.optional(),
  notTrustDomains: StringList.optional(),
});

export const AuthzOperationSchema = z.strictObject({
  hosts: StringList.optional(),
  notHosts: StringList.optional(),
  ports: StringList.optional(),
  notPorts: StringList.optional(),
  methods: StringList.optional(),
  notMethods: StringList.optional(),
  paths: StringList.optional(),
  notPaths: StringList.optional(),
});

export const AuthzConditionSchema = z.strictObject({
  key: z.string(),
  values: StringList.optional(),
  notValues: StringList.optional(),
});

export const AuthzRuleSchema = z.strictObject({
  from: z.array(z.strictObject({ source: AuthzSourceSchema.optional() })).optional(),
  to: z.array(z.strictObject({ operation: AuthzOperationSchema.optional() })).optional(),
  when: z.array(AuthzConditionSchema).optional(),
});

export const AuthorizationPolicySpecSchema = z.strictObject({
  selector: WorkloadSelectorSchema.optional(),
  targetRef: PolicyTargetReferenceSchema.optional(),
  targetRefs: z.array(PolicyTargetReferenceSchema).optional(),
  rules: z.array(AuthzRuleSchema).optional(),
  action: z.enum(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']).optional(),
  provider: z.strictObject({ name: z.string() }).optional(),
});

export type AuthorizationPolicySpec = z.infer<typeof AuthorizationPolicySpecSchema>;
export type AuthzRuleSpec = z.infer<typeof AuthzRuleSchema>;
export type AuthzSourceSpec = z.infer<typeof AuthzSourceSchema>;
export type AuthzOperationSpec = z.infer<typeof AuthzOperationSchema>;
export type AuthzConditionSpec = z.infer<typeof AuthzConditionSchema>;
export type AuthzAction = NonNullable<AuthorizationPolicySpec['action']>;

export interface SpecIssue {
  path: (string | number)[];
  message: string;
}

export { checkAuthorizationPolicy } from '../../authz/check-policy.js';

/**
 * Istio's security.istio.io/v1 RequestAuthentication spec: the strict shape (zod) and the semantic rules
 * Istio's validation adds on top (checkRequestAuthentication).
 */
import { z } from 'zod';
import { PolicyTargetReferenceSchema, WorkloadSelectorSchema } from './authorization-policy.js';

export const JwtHeaderSchema = z.strictObject({
  name: z.string(),
  prefix: z.string().optional(),
});

export const ClaimToHeaderSchema = z.strictObject({
  header: z.string(),
  claim: z.string(),
});

export const JwtRuleSchema = z.strictObject({
  issuer: z.string().optional(),
  audiences: z.array(z.string()).optional(),
  jwksUri: z.string().optional(),
  jwks: z.string().optional(),
  fromHeaders: z.array(JwtHeaderSchema).optional(),
  fromParams: z.array(z.string()).optional(),
  fromCookies: z.array(z.string()).optional(),
  outputPayloadToHeader: z.string().optional(),
  forwardOriginalToken: z.boolean().optional(),
  outputClaimToHeaders: z.array(ClaimToHeaderSchema).optional(),
  timeout: z.string().optional(),
  /** Claims split on spaces before authorization matches them, beside `scope` and `permission` (always split). */
  spaceDelimitedClaims: z.array(z.string().min(1)).max(64).optional(),
});

export const RequestAuthenticationSpecSchema = z.strictObject({
  selector: WorkloadSelectorSchema.optional(),
  targetRef: PolicyTargetReferenceSchema.optional(),
  targetRefs: z.array(PolicyTargetReferenceSchema).optional(),
  jwtRules: z.array(JwtRuleSchema).optional(),
});

export type RequestAuthenticationSpec = z.infer<typeof RequestAuthenticationSpecSchema>;
export type JwtRuleSpec = z.infer<typeof JwtRuleSchema>;

export { checkRequestAuthentication } from '../../authn/check-request-authentication.js';

/** The authorization engine shared by the proxy and `weft authz`: one import for both. */
export { compileAuthorizationPolicies } from './engine.js';
export type { AuthzEngine, CompiledPolicy, CompileNote } from './engine.js';
export { listApplicablePolicies, isDryRun, DRY_RUN_ANNOTATION } from './policy-scope.js';
export type { ApplicablePolicy, AuthzPolicyInput, PolicyReach, WorkloadScope } from './policy-scope.js';
export { parseRequestFile } from './request-file.js';
export type { ParsedRequestFile } from './request-file.js';
export { formatDecision } from './format-decision.js';
export type { AuthzAuth, AuthzConnection, AuthzDecision, AuthzHttp, AuthzRequest, DryRunResult, LocalVerdict } from './types.js';

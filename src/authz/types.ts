/** What the authorization engine sees of one request, and what it answers. */
import type { AuthzAction } from '../config/kinds/authorization-policy.js';

export interface AuthzConnection {
  /** The direct peer's address (Istio `source.ip`, `ipBlocks`). */
  sourceIp: string;
  /** The original client address from X-Forwarded-For or PROXY protocol (`remote.ip`); defaults to sourceIp. */
  remoteIp?: string;
  destinationIp: string;
  destinationPort: number;
  sni?: string;
  /** The peer's SPIFFE identity without the `spiffe://` scheme; absent for plaintext. */
  sourcePrincipal?: string;
  /** Informational: Istio derives `source.namespace` from the principal, and so does this engine. */
  sourceNamespace?: string;
}

export interface AuthzHttp {
  method: string;
  host: string;
  /** Already normalised, without the query string. */
  path: string;
  /** Lower-case header name → value. */
  headers: Record<string, string>;
}

export interface AuthzAuth {
  /** `<iss>/<sub>` of the verified JWT. */
  principal: string;
  audiences: string[];
  presenter?: string;
  claims: Record<string, unknown>;
}

export interface AuthzRequest {
  connection: AuthzConnection;
  /** Absent for a TCP connection. */
  http?: AuthzHttp;
  auth?: AuthzAuth;
}

export interface DryRunResult {
  policy: string;
  /** Index of the first rule that matched, null when none did. */
  rule: number | null;
  action: AuthzAction;
  wouldMatch: boolean;
  /** DENY: matched; ALLOW: no dry-run ALLOW policy matched; AUDIT/CUSTOM: never (the provider decides). */
  wouldDeny: boolean;
}

export interface LocalVerdict {
  decision: 'ALLOW' | 'DENY';
  policy: string | null;
  rule: number | null;
}

export interface AuthzDecision {
  decision: 'ALLOW' | 'DENY' | 'CUSTOM';
  policy: string | null;
  rule: number | null;
  /** The extension provider to ask, for a CUSTOM decision. */
  provider?: string;
  /** For CUSTOM: what DENY and ALLOW policies decide once the provider has allowed the request. */
  afterCustom?: LocalVerdict;
  dryRun: DryRunResult[];
  audit: boolean;
  /** The AUDIT policy that marked the request, when audit is true. */
  auditPolicy?: string;
}

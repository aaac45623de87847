/**
 * The security section of a ProxyConfig compiled once: the authorization engine (shared with `weft authz check`,
 * so both give the same answer), the JWT verifier, and the extension providers by name.
 */
import { compileAuthorizationPolicies } from '../../authz/index.js';
import type { AuthzEngine } from '../../authz/index.js';
import { compileJwtRules } from '../../authn/jwt-rules.js';
import type { JwtVerifier } from '../../authn/jwt-rules.js';
import type { PathNormalization } from '../../http/normalize-path.js';
import type { ExtAuthzProvider, ProxyConfig } from '../../proxyconfig/types.js';

export interface CompiledSecurity {
  pathNormalization: PathNormalization;
  /** Undefined when no policy applies: nothing to evaluate per request. */
  authz: AuthzEngine | undefined;
  /** Undefined when no RequestAuthentication applies. */
  jwt: JwtVerifier | undefined;
  /** jwksUris whose keys this proxy relies on, for a refresh request on an unknown key. */
  jwksUris: string[];
  providers: Map<string, ExtAuthzProvider>;
}

export function compileSecurity(cfg: ProxyConfig): CompiledSecurity {
  const s = cfg.security;
  const authz =
    s.authorizationPolicies.length === 0
      ? undefined
      : compileAuthorizationPolicies(s.authorizationPolicies, {
          rootNamespace: s.rootNamespace,
          workloadNamespace: cfg.proxy.namespace,
          workloadLabels: cfg.proxy.labels,
          trustDomain: cfg.trustDomain,
        });
  return {
    pathNormalization: s.pathNormalization,
    authz,
    jwt: s.jwtRules.length === 0 ? undefined : compileJwtRules(s.jwtRules),
    jwksUris: s.jwtRules.flatMap((r) => (r.jwksUri ? [r.jwksUri] : [])),
    providers: new Map(s.extensionProviders.map((p) => [p.name, p])),
  };
}

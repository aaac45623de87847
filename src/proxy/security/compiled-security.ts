/**
 * The security section of a ProxyConfig compiled once: the authorization engine (shared with `weft authz check`,
 * so both give the same answer), the JWT verifier, and the extension providers by name.
 */
import { compileAuthorizationPolicies } from '../../authz/index.js';
import type { AuthzEngine } from '../../authz/index.js';
import type { JwtVerifier } from '../../authn/jwt-rules.js';
import type { JwtRuleSpec } from '../../config/kinds/request-authentication.js';
import { WeftError } from '../../errors.js';
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
          trustDomainAliases: s.trustDomainAliases ?? [],
        });
  return {
    pathNormalization: s.pathNormalization,
    authz,
    jwt: s.jwtRules.length === 0 ? undefined : lazyJwtVerifier(s.jwtRules),
    jwksUris: s.jwtRules.flatMap((r) => (r.jwksUri ? [r.jwksUri] : [])),
    providers: new Map(s.extensionProviders.map((p) => [p.name, p])),
  };
}

/**
 * The JWT verifier, with jose loaded on the first token rather than in every proxy at start (most workloads
 * never see a RequestAuthentication). Inline JWKS are parsed now, so a broken one still NACKs the config.
 */
function lazyJwtVerifier(rules: JwtRuleSpec[]): JwtVerifier {
  rules.forEach((r, i) => {
    if (r.jwks === undefined) return;
    try {
      JSON.parse(r.jwks);
    } catch {
      throw new WeftError('PROXY_CONFIG_REJECTED', `security.jwtRules[${i}].jwks is not valid JSON`);
    }
  });
  let verifier: Promise<JwtVerifier> | undefined;
  return {
    authenticate(headers, query) {
      verifier ??= import('../../authn/jwt-rules.js').then((m) => m.compileJwtRules(rules));
      return verifier.then((v) => v.authenticate(headers, query));
    },
  };
}

/** A gateway's virtual hosts compiled, and Envoy's search for the one a Host names. */
import type { VirtualHost } from '../../proxyconfig/types.js';
import { compileRoutes, hostMatches } from '../../route/http-route-match.js';
import type { CompiledRoute } from '../../route/http-route-match.js';

export interface CompiledVirtualHost {
  gateway: string;
  domains: string[];
  routes: CompiledRoute[];
  httpsRedirect: boolean;
}

/** Envoy's domain search: an exact name, then the longest matching `*.suffix`, then `*`; a tie goes to the earlier. */
export function pickVirtualHost(hosts: readonly CompiledVirtualHost[], host: string): CompiledVirtualHost | undefined {
  let wildcard: CompiledVirtualHost | undefined;
  let wildcardLength = -1;
  for (const vh of hosts) {
    for (const d of vh.domains) {
      if (d === host) return vh;
      const length = d === '*' ? 0 : d.length;
      if (length > wildcardLength && hostMatches(d, host)) {
        wildcard = vh;
        wildcardLength = length;
      }
    }
  }
  return wildcard;
}

export function compileVirtualHost(vh: VirtualHost): CompiledVirtualHost {
  return { gateway: vh.gateway, domains: vh.domains, routes: compileRoutes(vh.routes), httpsRedirect: vh.httpsRedirect === true };
}

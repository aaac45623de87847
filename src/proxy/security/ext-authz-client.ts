/**
 * CUSTOM authorization through an HTTP ext-authz provider (Istio's envoyExtAuthzHttp), called over the mesh like
 * any other service. Envoy's contract: the check request carries the method, the prefixed path, Host, a zero
 * Content-Length and the headers the provider lists; a 200 allows (copying headersToUpstreamOnAllow), a 5xx or no
 * answer within the provider's `timeout` (the whole call: connect, headers and body) is a failure, anything else
 * denies with the provider's own status and body. A failure allows under `failOpen`, else answers `statusOnError`.
 */
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { AdmissionRequest } from './admit-request.js';
import type { ExtAuthzProvider } from '../../proxyconfig/types.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { EndpointPools } from '../upstream/endpoint-pools.js';
import { targetOf } from '../upstream/upstream-target.js';

export type ExtAuthzResult =
  | { allow: true; upstreamHeaders: string[]; downstreamHeaders: string[] }
  | { allow: false; status: number; body: string; downstreamHeaders: string[]; reason: string };

export async function checkExtAuthz(
  pools: EndpointPools,
  cfg: CompiledProxyConfig,
  provider: ExtAuthzProvider,
  req: AdmissionRequest,
  pathWithQuery: string,
  clock: Clock = systemClock,
): Promise<ExtAuthzResult> {
  const failed = (reason: string): ExtAuthzResult =>
    provider.failOpen
      ? { allow: true, upstreamHeaders: [], downstreamHeaders: [] }
      : { allow: false, status: provider.statusOnError, body: '', downstreamHeaders: [], reason };
  const balanced = cfg.byHost.get(provider.service)?.ports.get(provider.port);
  const ep = balanced?.pick();
  if (!balanced || !ep) return failed(`ext-authz provider ${provider.name}: no endpoint for ${provider.service}:${provider.port}`);
  const headers: string[] = ['host', req.headers.host ?? '', 'content-length', '0'];
  for (const name of provider.includeRequestHeadersInCheck) {
    const v = req.headers[name];
    if (v !== undefined) headers.push(name, Array.isArray(v) ? v.join(',') : v);
  }
  for (const [k, v] of Object.entries(provider.includeAdditionalHeadersInCheck)) headers.push(k, v);
  // One deadline for the whole call, as Envoy's ext_authz timeout: undici's own timeouts cover only some phases
  // (connect has its pool's bound) and tick at a coarse resolution.
  const deadline = new AbortController();
  const timer = clock.setTimeout(() => deadline.abort(), provider.timeoutMs);
  try {
    const res = await pools.get(targetOf(ep, balanced.sni)).request({
      method: (req.method ?? 'GET') as 'GET',
      path: provider.pathPrefix + pathWithQuery,
      headers,
      signal: deadline.signal,
    });
    const body = await res.body.text();
    const pick = (names: string[]): string[] =>
      names.flatMap((n) => {
        const v = res.headers[n];
        return v === undefined ? [] : Array.isArray(v) ? v.flatMap((x) => [n, x]) : [n, v];
      });
    if (res.statusCode === 200) {
      return { allow: true, upstreamHeaders: pick(provider.headersToUpstreamOnAllow), downstreamHeaders: pick(provider.headersToDownstreamOnAllow) };
    }
    if (res.statusCode >= 500) return failed(`ext-authz provider ${provider.name} failed with ${res.statusCode}`);
    return { allow: false, status: res.statusCode, body, downstreamHeaders: pick(provider.headersToDownstreamOnDeny), reason: `ext-authz ${provider.name} denied` };
  } catch (err) {
    if (deadline.signal.aborted) return failed(`ext-authz provider ${provider.name} timed out after ${provider.timeoutMs} ms`);
    return failed(`ext-authz provider ${provider.name} unreachable: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

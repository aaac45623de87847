/**
 * CUSTOM authorization through an HTTP ext-authz provider (Istio's envoyExtAuthzHttp), called over the mesh like
 * any other service. Envoy's contract: the check request carries the method, the prefixed path, Host, a zero
 * Content-Length and the headers the provider lists; a 200 allows (copying headersToUpstreamOnAllow), anything
 * else denies with the provider's own status and body; an unreachable provider fails open or answers statusOnError.
 */
import type { AdmissionRequest } from './admit-request.js';
import type { ExtAuthzProvider } from '../../proxyconfig/types.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { EndpointPools } from '../upstream/endpoint-pools.js';
import { targetOf } from '../upstream/endpoint-pools.js';

export type ExtAuthzResult =
  | { allow: true; upstreamHeaders: string[]; downstreamHeaders: string[] }
  | { allow: false; status: number; body: string; downstreamHeaders: string[]; reason: string };

export async function checkExtAuthz(
  pools: EndpointPools,
  cfg: CompiledProxyConfig,
  provider: ExtAuthzProvider,
  req: AdmissionRequest,
  pathWithQuery: string,
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
  try {
    const res = await pools.get(targetOf(ep, balanced.sni)).request({
      method: (req.method ?? 'GET') as 'GET',
      path: provider.pathPrefix + pathWithQuery,
      headers,
      headersTimeout: provider.timeoutMs,
      bodyTimeout: provider.timeoutMs,
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
    return { allow: false, status: res.statusCode, body, downstreamHeaders: pick(provider.headersToDownstreamOnDeny), reason: `ext-authz ${provider.name} denied` };
  } catch (err) {
    return failed(`ext-authz provider ${provider.name} unreachable: ${(err as Error).message}`);
  }
}

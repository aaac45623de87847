/**
 * The security filters every HTTP request passes on its way in (sidecar inbound and gateway), in Istio's order:
 *   method and path normalisation (a method not in upper case is refused; the path is what routing and policy both
 *   see) → RequestAuthentication (a bad token is 401, no token passes without a principal) → AuthorizationPolicy (CUSTOM, then DENY, then ALLOW; dry-run only recorded)
 * A refusal is answered here; on admission the caller gets the normalised path and the header changes to make.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { normalizePath, pathWithoutQuery } from '../../http/normalize-path.js';
import type { AuthzAuth, AuthzDecision, AuthzRequest } from '../../authz/index.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { EndpointPools } from '../upstream/endpoint-pools.js';
import { sendProxyError } from '../http/proxy-error.js';
import type { LocalReply } from '../http/proxy-error.js';
import type { PeerIdentity } from '../tls/peer-identity.js';
import { checkExtAuthz } from './ext-authz-client.js';

export interface AdmissionContext {
  cfg: CompiledProxyConfig;
  pools: EndpointPools;
  peer: PeerIdentity | undefined;
  sni: string | undefined;
  destinationIp: string;
  destinationPort: number;
  /** The client's address as the gateway derives it (`remote.ip`); absent, the peer's: sidecars never trust XFF. */
  remoteIp?: string | undefined;
  /** Told when a token names a key this proxy does not have, so the control plane refetches the JWKS. */
  onUnknownKey: (uris: string[]) => void;
}

/** What admission reads of a request: an HTTP/1.1 IncomingMessage, or an HTTP/2 stream's view (host = :authority). */
export interface AdmissionRequest {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

export interface Admitted {
  /** Normalised path with the original query. */
  path: string;
  /** Flat [name, value, ...] to add upstream. */
  addHeaders: string[];
  removeHeaders: ReadonlySet<string>;
  decision: AuthzDecision | undefined;
}

export interface Refused {
  status: number;
  reason: string;
  decision: AuthzDecision | undefined;
}

const NOTHING_REMOVED: ReadonlySet<string> = new Set();
const UNKNOWN_KEY = /doesn't have key|Jwks is not available/;

function lowerHeaders(req: AdmissionRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

export async function admitRequest(ctx: AdmissionContext, req: AdmissionRequest, res: LocalReply, url: string): Promise<Admitted | Refused> {
  if (req.method !== undefined && hasLowerCase(req.method)) {
    // Istio's normalisation for `methods`: a verb not in upper case is a 400. HTTP/2 carries any token (HTTP/1.1's
    // parser already refuses it); an app that upper-cases `get` would otherwise serve what a DENY on GET refuses.
    sendProxyError(res, 400, 'bad request: method not in upper case');
    return { status: 400, reason: 'method not in upper case', decision: undefined };
  }
  const sec = ctx.cfg.security;
  const normalized = normalizePath(url, sec.pathNormalization);
  if ('reject' in normalized) {
    sendProxyError(res, 400, 'bad request: path cannot be normalised');
    return { status: 400, reason: 'path rejected by normalisation', decision: undefined };
  }
  const path = normalized.path;
  if (!sec.jwt && !sec.authz) return { path, addHeaders: [], removeHeaders: NOTHING_REMOVED, decision: undefined };

  const headers = lowerHeaders(req);
  const q = path.indexOf('?');
  const addHeaders: string[] = [];
  let removeHeaders = NOTHING_REMOVED;
  let auth: AuthzAuth | undefined;
  if (sec.jwt) {
    const result = await sec.jwt.authenticate(headers, q < 0 ? '' : path.slice(q + 1));
    if (result.outcome === 'invalid') {
      if (UNKNOWN_KEY.test(result.reason)) ctx.onUnknownKey(sec.jwksUris);
      res.setHeader('www-authenticate', 'Bearer realm="weft", error="invalid_token"');
      sendProxyError(res, 401, result.reason);
      return { status: 401, reason: result.reason, decision: undefined };
    }
    if (result.outcome === 'ok') {
      auth = { principal: result.principal, audiences: result.audiences, presenter: result.presenter, claims: result.claims };
      for (const [k, v] of Object.entries(result.headersToSet)) addHeaders.push(k, String(v));
      removeHeaders = new Set(result.headersToRemove);
    }
  }
  if (!sec.authz) return { path, addHeaders, removeHeaders: withSetHeaders(removeHeaders, addHeaders), decision: undefined };

  const request: AuthzRequest = {
    connection: {
      sourceIp: req.socket.remoteAddress ?? '',
      remoteIp: ctx.remoteIp,
      destinationIp: ctx.destinationIp,
      destinationPort: ctx.destinationPort,
      sni: ctx.sni,
      sourcePrincipal: ctx.peer?.principal,
    },
    http: { method: req.method ?? 'GET', host: headers['host'] ?? '', path: pathWithoutQuery(path), headers },
    auth,
  };
  const decision = sec.authz.evaluate(request);
  if (decision.decision === 'DENY') {
    sendProxyError(res, 403, 'RBAC: access denied');
    return { status: 403, reason: 'RBAC: access denied', decision };
  }
  if (decision.decision === 'CUSTOM') {
    const provider = decision.provider ? sec.providers.get(decision.provider) : undefined;
    if (!provider) {
      sendProxyError(res, 403, 'RBAC: access denied');
      return { status: 403, reason: `extension provider ${decision.provider ?? '?'} is not defined in MeshConfig`, decision };
    }
    const check = await checkExtAuthz(ctx.pools, ctx.cfg, provider, req, path);
    if (!check.allow) {
      for (let i = 0; i < check.downstreamHeaders.length; i += 2) res.setHeader(check.downstreamHeaders[i]!, check.downstreamHeaders[i + 1]!);
      res.writeHead(check.status, { 'content-length': Buffer.byteLength(check.body) });
      res.end(check.body);
      return { status: check.status, reason: check.reason, decision };
    }
    addHeaders.push(...check.upstreamHeaders);
    // The provider allowed: DENY and ALLOW policies still have their say.
    if (decision.afterCustom?.decision === 'DENY') {
      sendProxyError(res, 403, 'RBAC: access denied');
      return { status: 403, reason: 'RBAC: access denied', decision: { ...decision, policy: decision.afterCustom.policy, rule: decision.afterCustom.rule } };
    }
  }
  return { path, addHeaders, removeHeaders: withSetHeaders(removeHeaders, addHeaders), decision };
}

function hasLowerCase(method: string): boolean {
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i);
    if (c >= 97 /* a */ && c <= 122 /* z */) return true;
  }
  return false;
}

/** A header the mesh sets replaces any the caller sent under that name: claims and verdicts cannot be forged. */
function withSetHeaders(remove: ReadonlySet<string>, add: readonly string[]): ReadonlySet<string> {
  if (add.length === 0) return remove;
  const all = new Set(remove);
  for (let i = 0; i < add.length; i += 2) all.add(add[i]!.toLowerCase());
  return all;
}

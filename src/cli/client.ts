/**
 * How every CLI verb reaches the control plane: the JSON API over HTTPS, at the address the state directory names
 * (control-plane-locator.ts), checking the server is the control plane by its SPIFFE ID. The API's error answers
 * come back as the WeftError the server raised (verb-failure.ts).
 */
import type { PeerCertificate } from 'node:tls';
import { spiffeIdOfPeer } from '../identity/tls-peer.js';
import { CONTROL_PLANE_SERVICE_ACCOUNT } from '../push/protocol.js';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { Resource, ResourceKey } from '../config/resource.js';
import type { AppliedItem, ApplyResponse, TokenSubject } from '../control/api/handler.js';
import type { CredentialSummary } from '../control/api/credentials.js';
import type { Decision, Principal } from '../control/api/rbac.js';
import type { AuditActor, AuditFilter, AuditRecord, AuditVerb, StoredResource } from '../control/store/types.js';
import type { AuditEntry } from '../control/store/audit-chain.js';
import type { EnforcedConfig } from '../control/enforced-config.js';
import type { RunningProxyConfig } from '../control/api/proxy-config-routes.js';
import type { ProxyRuntimeReport } from '../push/runtime-report.js';
import { WeftError } from '../errors.js';
import { locateControlPlane } from './control-plane-locator.js';
import type { ControlPlaneLocation, CredentialSource } from './control-plane-locator.js';
import { apiError } from './verb-failure.js';

export interface ControlClientOptions extends ControlPlaneLocation {
  timeoutMs?: number;
}

/** One kept revision as the history route lists it. */
export interface RevisionSummary {
  revision: number;
  time: string;
  actor: AuditActor;
  verb: AuditVerb;
  contentSha256: string | null;
}

/** `weft audit log` filters, as the API takes them. */
export interface AuditLogQuery {
  afterSeq?: number;
  /** A revision number or an RFC 3339 time. */
  since?: string;
  /** An entry type (change, refusal, push, head) or a resource kind. */
  kind?: string;
  limit?: number;
}

export interface DeletedItem {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

function checkControlPlaneIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  const id = spiffeIdOfPeer(cert);
  if (id?.endsWith(`/sa/${CONTROL_PLANE_SERVICE_ACCOUNT}`)) return undefined;
  return new WeftError('PEER_IDENTITY_MISMATCH', `control plane presented ${id ?? 'no SPIFFE ID'}`);
}

/** What the client reads of a proxy row to merge replicas' lists. */
interface ProxyRow {
  id?: unknown;
  connected?: unknown;
}

export class ControlClient {
  readonly address: string;
  readonly #origin: string;
  readonly #credential: string;
  readonly #agent: Agent;
  /** Clients of the other replicas (ControlPlaneLocation.peers), asked about proxies. */
  readonly #peers: ControlClient[];

  constructor(options: ControlClientOptions) {
    this.address = options.address;
    this.#origin = `https://${options.address}`;
    this.#credential = options.credential;
    const timeout = options.timeoutMs ?? 30_000;
    this.#agent = new Agent({
      // The API presents the control plane's SVID: check its SPIFFE ID, not a host name.
      connect: { ca: options.caPem, timeout, checkServerIdentity: checkControlPlaneIdentity },
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const { peers = [], ...self } = options;
    this.#peers = peers.map((address) => new ControlClient({ ...self, address }));
  }

  /**
   * The client for the mesh `weft up` runs from `stateDir`, acting with the credential `source` names; MESH_NOT_RUNNING
   * if there is none or it died.
   */
  static async fromStateDir(stateDir: string, source: CredentialSource = {}): Promise<ControlClient> {
    return new ControlClient(await locateControlPlane(stateDir, source));
  }

  /** `at`: a revision number or an RFC 3339 time; the list as it was then. */
  async list(filter: { kind?: string; namespace?: string; at?: string } = {}): Promise<StoredResource[]> {
    const query = new URLSearchParams();
    if (filter.kind !== undefined) query.set('kind', filter.kind);
    if (filter.namespace !== undefined) query.set('namespace', filter.namespace);
    if (filter.at !== undefined) query.set('at', filter.at);
    const q = query.toString();
    return (await this.#call<{ items: StoredResource[] }>('GET', `/api/v1/resources${q === '' ? '' : `?${q}`}`)).items;
  }

  async get(key: ResourceKey, at?: string): Promise<StoredResource> {
    const query = at === undefined ? '' : `?${new URLSearchParams({ at }).toString()}`;
    return this.#call<StoredResource>('GET', `/api/v1/resources/${keyPath(key)}${query}`);
  }

  async auditLog(filter: AuditLogQuery = {}): Promise<AuditEntry[]> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) query.set(k, String(v));
    return (await this.#call<{ entries: AuditEntry[] }>('GET', `/api/v1/audit/log?${query.toString()}`)).entries;
  }

  async enforced(proxy: string, at: string): Promise<EnforcedConfig> {
    return this.#call<EnforcedConfig>('GET', `/api/v1/audit/enforced?${new URLSearchParams({ proxy, at }).toString()}`);
  }

  async history(key: ResourceKey): Promise<RevisionSummary[]> {
    return (await this.#call<{ revisions: RevisionSummary[] }>('GET', `/api/v1/history/${keyPath(key)}`)).revisions;
  }

  async rollback(key: ResourceKey, to: string): Promise<{ revision: number; result: string }> {
    return this.#call('POST', `/api/v1/rollback/${keyPath(key)}`, { to });
  }

  async apply(resources: Resource[]): Promise<AppliedItem[]> {
    return (await this.applyWithReport(resources)).results;
  }

  /** Apply with admission's report: warnings on the applied objects, and what `force` overrode. */
  async applyWithReport(resources: Resource[], options: { force?: boolean } = {}): Promise<ApplyResponse> {
    const body = options.force === true ? { resources, force: true } : { resources };
    return this.#call<ApplyResponse>('POST', '/api/v1/apply', body);
  }

  async delete(keys: ResourceKey[]): Promise<DeletedItem[]> {
    return (await this.#call<{ deleted: DeletedItem[] }>('POST', '/api/v1/delete', { keys })).deleted;
  }

  async setStatus(key: ResourceKey, status: unknown): Promise<StoredResource> {
    return this.#call<StoredResource>('PUT', `/api/v1/status/${keyPath(key)}`, { status });
  }

  async audit(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const query = new URLSearchParams();
    if (filter.since !== undefined) query.set('since', String(filter.since));
    if (filter.limit !== undefined) query.set('limit', String(filter.limit));
    return (await this.#call<{ records: AuditRecord[] }>('GET', `/api/v1/audit?${query.toString()}`)).records;
  }

  async issueToken(subject: TokenSubject): Promise<string> {
    return (await this.#call<{ token: string }>('POST', '/api/v1/tokens', subject)).token;
  }

  /**
   * Every proxy as the replica it is connected to reports it: each replica reports the proxies that connected to it,
   * so with peers all are asked, a proxy's connected row taken over a replica's memory of one that left it. A peer
   * that does not answer is left out; this replica not answering is an error.
   */
  async proxies(): Promise<unknown[]> {
    const byId = new Map<string, ProxyRow>();
    for (const { rows } of await this.#proxiesByReplica()) {
      for (const row of rows) if (row.connected === true || !byId.has(String(row.id))) byId.set(String(row.id), row);
    }
    return [...byId.values()];
  }

  /** Each replica's own proxy rows, asked at once; a peer that does not answer has none. */
  async #proxiesByReplica(): Promise<{ replica: ControlClient; rows: ProxyRow[] }[]> {
    const here = async (c: ControlClient): Promise<ProxyRow[]> => (await c.#call<{ proxies: ProxyRow[] }>('GET', '/api/v1/proxies')).proxies;
    const rows = await Promise.all([here(this), ...this.#peers.map((p) => here(p).catch(() => []))]);
    return [this, ...this.#peers].map((replica, i) => ({ replica, rows: rows[i] ?? [] }));
  }

  /** The replica a proxy is connected to: this one when it is here, or when no replica has it connected. */
  async #replicaOf(id: string): Promise<ControlClient> {
    if (this.#peers.length === 0) return this;
    const found = (await this.#proxiesByReplica()).find(({ rows }) => rows.some((p) => p.id === id && p.connected === true));
    return found?.replica ?? this;
  }

  /** The config a proxy runs (its last ACK); `id` is `sidecar/<namespace>/<name>` or `gateway/...`. */
  async proxyConfig(id: string): Promise<RunningProxyConfig> {
    return (await this.#replicaOf(id)).#call<RunningProxyConfig>('GET', `/api/v1/proxies/${proxyPath(id)}/config`);
  }

  /** The proxy's own report of its endpoints' health and its certificates. */
  async proxyRuntime(id: string): Promise<ProxyRuntimeReport> {
    return (await this.#replicaOf(id)).#call<ProxyRuntimeReport>('GET', `/api/v1/proxies/${proxyPath(id)}/runtime`);
  }

  async createCredential(request: { role: string; namespaces: string[]; expires?: string; name?: string }): Promise<{ secret: string; credential: CredentialSummary }> {
    return this.#call('POST', '/api/v1/credentials', request);
  }

  async credentials(): Promise<CredentialSummary[]> {
    return (await this.#call<{ credentials: CredentialSummary[] }>('GET', '/api/v1/credentials')).credentials;
  }

  async revokeCredential(name: string): Promise<CredentialSummary> {
    return (await this.#call<{ credential: CredentialSummary }>('POST', `/api/v1/credentials/${encodeURIComponent(name)}/revoke`, {})).credential;
  }

  /** The API's own decision about this client's credential. */
  async canI(question: { verb: string; kind: string; namespace: string }): Promise<Decision & { principal: Principal }> {
    return this.#call('POST', '/api/v1/can-i', question);
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent.close(), ...this.#peers.map((p) => p.close())]);
  }

  async #call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.#origin}${path}`, {
        method,
        dispatcher: this.#agent,
        headers: {
          authorization: `Bearer ${this.#credential}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ECONNRESET') {
        throw new WeftError('MESH_NOT_RUNNING', `the control plane at ${this.#origin} is not answering (${code})`, {
          cause: err,
        });
      }
      throw new WeftError('UPSTREAM_UNREACHABLE', `cannot reach the control plane at ${this.#origin}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new WeftError('BAD_REQUEST', `the control plane answered ${res.statusCode} with a body that is not JSON`, {
        status: res.statusCode,
      });
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
    throw apiError(res.statusCode, parsed);
  }
}

function proxyPath(id: string): string {
  return id.split('/').map(encodeURIComponent).join('/');
}

function keyPath(key: ResourceKey): string {
  return [key.kind, key.namespace, key.name].map(encodeURIComponent).join('/');
}

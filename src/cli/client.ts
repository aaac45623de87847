/**
 * How every CLI verb reaches the control plane: find the running mesh from the state directory (address,
 * admin credential, the CA to trust), then speak the JSON API over HTTPS. Also the one place that turns a
 * failure into the line a person reads on stderr, in kubectl's wording where kubectl has one.
 */
import { processAlive } from '../mesh/process-alive.js';
import type { PeerCertificate } from 'node:tls';
import { spiffeIdOfPeer } from '../identity/tls-peer.js';
import { CONTROL_PLANE_SERVICE_ACCOUNT } from '../push/protocol.js';
import { readFile } from 'node:fs/promises';
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
import type { WeftErrorCode } from '../errors.js';
import { WeftError, isWeftError } from '../errors.js';
import type { MeshFile } from '../mesh/mesh-file.js';
import { stateDirLayout } from '../mesh/state-dir.js';

export interface ControlClientOptions {
  /** host:port of the control plane's API. */
  address: string;
  credential: string;
  /** PEM of the CA that issued the API's certificate. */
  caPem: string;
  timeoutMs?: number;
}

/**
 * Where the CLI's credential comes from, first found wins: `--credential-file`, then WEFT_CREDENTIAL, then the
 * mesh-admin credential `weft up` wrote to the state directory.
 */
export interface CredentialSource {
  credentialFile?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

async function readCredential(stateDirFile: string, source: CredentialSource): Promise<string> {
  if (source.credentialFile !== undefined) {
    try {
      return (await readFile(source.credentialFile, 'utf8')).trim();
    } catch (err) {
      throw new WeftError('BAD_REQUEST', `cannot read the credential file ${source.credentialFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const fromEnv = (source.env ?? process.env)['WEFT_CREDENTIAL']?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return (await readFile(stateDirFile, 'utf8')).trim();
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

function notRunning(dir: string, why: string): WeftError {
  return new WeftError('MESH_NOT_RUNNING', `no mesh is running in ${dir} (start one with: weft up PATH)`, {
    detail: { reason: why },
  });
}


function checkControlPlaneIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  const id = spiffeIdOfPeer(cert);
  if (id?.endsWith(`/sa/${CONTROL_PLANE_SERVICE_ACCOUNT}`)) return undefined;
  return new WeftError('PEER_IDENTITY_MISMATCH', `control plane presented ${id ?? 'no SPIFFE ID'}`);
}

export class ControlClient {
  readonly address: string;
  readonly #origin: string;
  readonly #credential: string;
  readonly #agent: Agent;

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
  }

  /**
   * The client for the mesh `weft up` runs from `stateDir`, acting with the credential `source` names; MESH_NOT_RUNNING
   * if there is none or it died.
   */
  static async fromStateDir(stateDir: string, source: CredentialSource = {}): Promise<ControlClient> {
    const layout = stateDirLayout(stateDir);
    // A control plane `weft up` did not start (a replica on another machine): WEFT_CONTROL_ADDRESS names it, and the
    // state directory holds only the credential and the trust bundle.
    const remote = (source.env ?? process.env)['WEFT_CONTROL_ADDRESS']?.trim();
    if (remote !== undefined && remote !== '') {
      const [credential, caPem] = await Promise.all([readCredential(layout.adminCredentialFile, source), readFile(layout.trustBundleFile, 'utf8')]).catch(
        (err: unknown) => {
          if (isWeftError(err)) throw err;
          throw notRunning(layout.root, (err as Error).message);
        },
      );
      return new ControlClient({ address: remote, credential, caPem });
    }
    let mesh: MeshFile;
    try {
      mesh = JSON.parse(await readFile(layout.meshFile, 'utf8')) as MeshFile;
    } catch (err) {
      throw notRunning(layout.root, `cannot read ${layout.meshFile}: ${(err as Error).message}`);
    }
    if (typeof mesh.control?.address !== 'string' || mesh.control.address === '') {
      throw notRunning(layout.root, 'the mesh file names no control plane address');
    }
    // A mesh file left behind by a killed `weft up` must not send us to whatever now holds that port.
    if (typeof mesh.pid === 'number' && !processAlive(mesh.pid)) {
      throw notRunning(layout.root, `weft up (pid ${mesh.pid}) is no longer running`);
    }
    let credential: string;
    let caPem: string;
    try {
      [credential, caPem] = await Promise.all([
        readCredential(layout.adminCredentialFile, source),
        readFile(layout.trustBundleFile, 'utf8'),
      ]);
    } catch (err) {
      if (isWeftError(err)) throw err;
      throw notRunning(layout.root, (err as Error).message);
    }
    return new ControlClient({ address: mesh.control.address, credential, caPem });
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

  async proxies(): Promise<unknown[]> {
    return (await this.#call<{ proxies: unknown[] }>('GET', '/api/v1/proxies')).proxies;
  }

  /** The config a proxy runs (its last ACK); `id` is `sidecar/<namespace>/<name>` or `gateway/...`. */
  async proxyConfig(id: string): Promise<RunningProxyConfig> {
    return this.#call<RunningProxyConfig>('GET', `/api/v1/proxies/${proxyPath(id)}/config`);
  }

  /** The proxy's own report of its endpoints' health and its certificates. */
  async proxyRuntime(id: string): Promise<ProxyRuntimeReport> {
    return this.#call<ProxyRuntimeReport>('GET', `/api/v1/proxies/${proxyPath(id)}/runtime`);
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
    await this.#agent.close();
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

/** Errors the control plane answered with, as opposed to those found on this side (e.g. a bad local file). */
const fromServer = new WeakSet<WeftError>();

/** The API's `{ error: { code, message, detail } }` as the WeftError the server raised. */
function apiError(status: number, body: unknown): WeftError {
  const e = (body as { error?: { code?: unknown; message?: unknown; detail?: unknown } } | null)?.error;
  const message = typeof e?.message === 'string' ? e.message : `the control plane answered ${status}`;
  const known = typeof e?.code === 'string' && e.code !== 'INTERNAL';
  const code = (known ? e.code : 'STORE') as WeftErrorCode;
  const detail = typeof e?.detail === 'object' && e.detail !== null ? (e.detail as Record<string, unknown>) : undefined;
  const err = new WeftError(code, message, detail === undefined ? { status } : { status, detail });
  fromServer.add(err);
  return err;
}

/** kubectl's reason words for the server's answers. */
const SERVER_REASON: Partial<Record<WeftErrorCode, string>> = {
  NOT_FOUND: 'NotFound',
  FORBIDDEN: 'Forbidden',
  UNAUTHENTICATED: 'Unauthorized',
  CONFLICT: 'Conflict',
  BAD_REQUEST: 'BadRequest',
  CONFIG_INVALID: 'Invalid',
  ADMISSION_REFUSED: 'Invalid',
  CONFIG_UNKNOWN_KIND: 'Invalid',
};

/**
 * The stderr text for a failed verb: `Error from server (Reason): ...` for the API's refusals (they carry an
 * HTTP status), `error: ...` for everything found locally. Never a stack trace for a coded error.
 */
export function describeCliFailure(err: unknown): string {
  if (!isWeftError(err)) return `error: ${err instanceof Error ? err.message : String(err)}`;
  const reason = fromServer.has(err) ? (SERVER_REASON[err.code] ?? 'InternalError') : undefined;
  return reason === undefined ? `error: ${err.message}` : `Error from server (${reason}): ${err.message}`;
}

/** Where a verb prints: the process's streams, or a test's buffers. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: CliOutput = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Runs a verb's body: a failure goes to stderr as one message and sets exit code 1. */
export async function runVerb(io: CliOutput, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    io.err(`${describeCliFailure(err)}\n`);
    process.exitCode = 1;
  }
}

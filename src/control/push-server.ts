/**
 * The control plane's side of the push stream: signs certificates (first with a bootstrap token, then renewals
 * authorised by the caller's own SVID) and keeps one stream per connected proxy, sending a new ProxyConfig
 * whenever the compiled result for that proxy changes, and recording its ACK or NACK.
 */
import { createHash } from 'node:crypto';
import type http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { WeftError, isWeftError } from '../errors.js';
import type { CertificateAuthority } from '../identity/ca.js';
import type { BootstrapTokens } from '../identity/bootstrap-token.js';
import { splitPemCertificates } from '../identity/pem.js';
import { parseWorkloadIdentity } from '../identity/spiffe-id.js';
import { LineDecoder, MAX_PROXY_MESSAGE_BYTES, PUSH_PATHS } from '../push/protocol.js';
import type { ControlMessage, NodeInfo, ProxyMessage, SignRequest, SignResponse } from '../push/protocol.js';
import { spiffeIdOfPeer } from '../identity/tls-peer.js';
import { compileProxyConfigParts } from './compile/index.js';
import type { CompiledProxyConfig, ConfigJsonPart, ProxyNode } from './compile/index.js';
import type { SharedSection } from './compile/snapshot-memo.js';
import type { MeshSnapshot } from './compile/snapshot.js';
import type { ControlLog } from './control-log.js';
import type { PushInputs } from './store/audit-chain.js';
import { AckedConfigs } from './acked-configs.js';
import type { RunningConfig } from './acked-configs.js';
import { RuntimeRequests } from './runtime-requests.js';
import { configDeltaParts } from './push-delta.js';
import type { DeltaPart } from './push-delta.js';
import { CONFIG_DELTA_FEATURE } from '../push/config-delta.js';
import type { ProxyRuntimeReport } from '../push/runtime-report.js';

export interface ProxyStatus {
  id: string;
  role: 'sidecar' | 'gateway';
  namespace: string;
  name: string;
  spiffeId: string;
  podIP: string;
  connected: boolean;
  connectedAt: string;
  sentVersion: string | null;
  ackedVersion: string | null;
  lastNack: { version: string; reason: string; at: string } | null;
  certNotAfter: string | null;
  compileError: string | null;
  /** The sidecar's default inbound mTLS mode, from its last compiled config. */
  mtlsMode: string | null;
  /** How the last config was written: whole, or as what changed since the one before. */
  sentAs: 'config' | 'config-delta' | null;
  /** Times this proxy asked for its whole config since it connected (a delta came against a version it lacked). */
  resyncs: number;
}

interface Connection {
  status: ProxyStatus;
  serviceAccount: string;
  node: NodeInfo;
  stream: http2.ServerHttp2Stream;
  /** SHA-256 of the bytes of each config version sent on this stream, for the audit record of its ACK or NACK. */
  sentSha256: Map<string, string>;
  /** The stream's buffer is full: the next config waits for 'drain'. */
  blocked: boolean;
  /** The newest config not yet written (blocked, or waiting for a send slot); an older one is dropped, never sent. */
  pending: PendingConfig | undefined;
  /** The proxy's hello accepts `config-delta`. */
  deltas: boolean;
  /**
   * The config the proxy holds once it has applied everything written: the base of the next delta. Undefined: the
   * next config goes whole (first on a stream, after a NACK with nothing ACKed, on a resync request).
   */
  base: CompiledProxyConfig | undefined;
  /** The config last ACKed on this stream, the base again after a NACK. */
  acked: CompiledProxyConfig | undefined;
  /** Configs written and not yet answered, by version (the newest few). */
  unanswered: Map<string, CompiledProxyConfig>;
}

interface PendingConfig {
  compiled: CompiledProxyConfig;
  inputs: PushInputs;
}


export interface PushServerDeps {
  ca: CertificateAuthority;
  tokens: BootstrapTokens;
  snapshot: () => MeshSnapshot;
  certificateTtlMs: () => number;
  log: ControlLog;
  /** A proxy met a JWT key it does not know. */
  onJwksRefresh: (uris: string[]) => void;
  /** Told of every config sent and every ACK or NACK, for the audit chain; must not throw. */
  onConfigEvent?: (event: ConfigEvent) => void;
  /** Streams that may be sending a config at once (default 64): what is in flight is buffered per stream. */
  maxConfigsInFlight?: number;
}

export interface ConfigEvent {
  proxy: string;
  outcome: 'sent' | 'ack' | 'nack';
  configVersion: string;
  /** configDigest (hex) of the config sent, whole or as a delta; null for a version this stream was never sent. */
  configSha256: string | null;
  reason?: string;
  /** Sent configs only. */
  inputs?: PushInputs;
}

const MAX_SIGN_BODY = 64 * 1024;

export class PushServer {
  #connections = new Set<Connection>();
  /** Connections whose last config is still being sent (blocked), and those waiting for one of their slots. */
  #inFlight = 0;
  #waiting = new Set<Connection>();
  /** Status of proxies seen, kept after disconnect so `weft status` can say a proxy is gone. */
  #seen = new Map<string, ProxyStatus>();
  /** The config each proxy ACKed, for `weft proxy-config` and `weft route check`. */
  #acked = new AckedConfigs();
  #runtime = new RuntimeRequests();

  constructor(private readonly deps: PushServerDeps) {}

  /** Handles a push-protocol request; false if the path is not ours. */
  handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): boolean {
    switch (req.url) {
      case PUSH_PATHS.sign:
        void this.#sign(req, res, false);
        return true;
      case PUSH_PATHS.renew:
        void this.#sign(req, res, true);
        return true;
      case PUSH_PATHS.stream:
        this.#stream(req, res);
        return true;
      default:
        return false;
    }
  }

  proxies(): ProxyStatus[] {
    return [...this.#seen.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** What a proxy runs: its status and the config it last ACKed (undefined for a proxy never seen). */
  runningConfig(id: string): { status: ProxyStatus; running: RunningConfig | undefined } | undefined {
    const status = this.#seen.get(id);
    return status === undefined ? undefined : { status, running: this.#acked.running(id) };
  }

  /** Asks a connected proxy for its runtime state over its stream. */
  requestRuntime(id: string): Promise<ProxyRuntimeReport> {
    const conn = [...this.#connections].find((c) => c.status.id === id);
    if (conn === undefined) {
      return Promise.reject(new WeftError('UPSTREAM_UNREACHABLE', `proxy ${id} is not connected to the control plane`, { status: 503 }));
    }
    return this.#runtime.ask(conn, id, (reqId) => send(conn.stream, { type: 'report-runtime', id: reqId }));
  }

  /** Recompile for every connected proxy and send what changed. */
  pushAll(): void {
    const snap = this.deps.snapshot();
    for (const c of this.#connections) this.#push(c, snap);
  }

  closeAll(): void {
    for (const c of this.#connections) c.stream.close();
    this.#connections.clear();
    this.#waiting.clear();
    this.#inFlight = 0;
  }

  #peerSpiffeId(req: http2.Http2ServerRequest): string | undefined {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return undefined;
    return spiffeIdOfPeer(socket.getPeerCertificate());
  }

  async #sign(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, renew: boolean): Promise<void> {
    try {
      if (req.method !== 'POST') throw new WeftError('BAD_REQUEST', 'use POST', { status: 405 });
      const body = JSON.parse(await readBody(req, MAX_SIGN_BODY)) as Partial<SignRequest>;
      if (typeof body.csr !== 'string') throw new WeftError('BAD_REQUEST', 'csr is required', { status: 400 });
      let spiffeId: string;
      if (renew) {
        const peer = this.#peerSpiffeId(req);
        if (!peer) throw new WeftError('UNAUTHENTICATED', 'renewal needs a valid client certificate', { status: 401 });
        spiffeId = peer;
      } else {
        const auth = req.headers.authorization ?? '';
        if (!auth.startsWith('Bearer ')) throw new WeftError('TOKEN_INVALID', 'a bootstrap token is required', { status: 401 });
        const claimed = { namespace: String(body.namespace ?? ''), serviceAccount: String(body.serviceAccount ?? ''), workload: String(body.workload ?? '') };
        const bound = await this.deps.tokens.consume(auth.slice(7), claimed);
        spiffeId = `spiffe://${this.deps.snapshot().mesh.trustDomain}/ns/${bound.namespace}/sa/${bound.serviceAccount}`;
      }
      const issued = await this.deps.ca.signCsr(body.csr, { spiffeId, ttlMs: this.deps.certificateTtlMs() });
      const answer: SignResponse = {
        certChain: splitPemCertificates(issued.chainPem),
        trustBundle: splitPemCertificates(this.deps.ca.trustBundlePem()),
      };
      this.deps.log.info(renew ? 'certificate renewed' : 'certificate issued', { spiffeId, notAfter: issued.notAfter.toISOString() });
      sendJson(res, 200, answer);
    } catch (err) {
      const status = isWeftError(err) ? (err.status ?? statusOf(err.code)) : err instanceof SyntaxError ? 400 : 500;
      const code = isWeftError(err) ? err.code : 'BAD_REQUEST';
      this.deps.log.warn('certificate request refused', { code, reason: (err as Error).message });
      sendJson(res, status, { error: { code, message: (err as Error).message } });
    }
  }

  #stream(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    const peer = this.#peerSpiffeId(req);
    if (!peer) {
      sendJson(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'the push stream needs mTLS with a mesh certificate' } });
      return;
    }
    const stream = res.stream;
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let conn: Connection | undefined;
    const decoder = new LineDecoder((line) => {
      const msg = JSON.parse(line) as ProxyMessage;
      if (msg.type === 'hello') conn = this.#hello(peer, msg, stream);
      else if (conn) this.#onProxyMessage(conn, msg);
    }, MAX_PROXY_MESSAGE_BYTES);
    req.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        this.deps.log.warn('push stream message refused', { peer, reason: (err as Error).message });
        stream.close();
      }
    });
    const gone = (): void => {
      if (!conn) return;
      this.#connections.delete(conn);
      this.#forget(conn);
      this.#runtime.drop(conn, conn.status.id);
      conn.status.connected = false;
      this.deps.log.info('proxy disconnected', { proxy: conn.status.id });
      conn = undefined;
    };
    stream.on('close', gone);
    stream.on('error', gone);
  }

  #hello(peer: string, hello: Extract<ProxyMessage, { type: 'hello' }>, stream: http2.ServerHttp2Stream): Connection | undefined {
    const { node, certNotAfter } = hello;
    let identity: ReturnType<typeof parseWorkloadIdentity>;
    try {
      identity = parseWorkloadIdentity(peer);
    } catch {
      send(stream, { type: 'error', message: `${peer} is not a workload identity` });
      stream.close();
      return undefined;
    }
    if (identity.namespace !== node.namespace) {
      send(stream, { type: 'error', message: `certificate is for namespace ${identity.namespace}, not ${node.namespace}` });
      stream.close();
      return undefined;
    }
    const id = `${node.role}/${node.namespace}/${node.name}`;
    const status: ProxyStatus = {
      id,
      role: node.role,
      namespace: node.namespace,
      name: node.name,
      spiffeId: peer,
      podIP: node.podIP,
      connected: true,
      connectedAt: new Date().toISOString(),
      sentVersion: null,
      ackedVersion: this.#seen.get(id)?.ackedVersion ?? null,
      lastNack: null,
      certNotAfter,
      compileError: null,
      mtlsMode: null,
      sentAs: null,
      resyncs: 0,
    };
    this.#seen.set(id, status);
    const conn: Connection = {
      status,
      serviceAccount: identity.serviceAccount,
      node,
      stream,
      sentSha256: new Map(),
      blocked: false,
      pending: undefined,
      deltas: Array.isArray(hello.accepts) && hello.accepts.includes(CONFIG_DELTA_FEATURE),
      base: undefined,
      acked: undefined,
      unanswered: new Map(),
    };
    this.#connections.add(conn);
    this.deps.log.info('proxy connected', { proxy: id, spiffeId: peer });
    this.#push(conn, this.deps.snapshot());
    return conn;
  }

  #push(c: Connection, snap: MeshSnapshot): void {
    let compiled: CompiledProxyConfig;
    const node: ProxyNode = { role: c.node.role, namespace: c.node.namespace, name: c.node.name, serviceAccount: c.serviceAccount };
    if (c.node.labels !== undefined) node.labels = c.node.labels;
    try {
      compiled = compileProxyConfigParts(snap, node);
      c.status.compileError = null;
    } catch (err) {
      c.status.compileError = (err as Error).message;
      this.deps.log.warn('cannot compile config for proxy', { proxy: c.status.id, reason: c.status.compileError });
      return;
    }
    const { version } = compiled.config;
    c.status.mtlsMode = compiled.config.inbound?.defaultMode ?? null;
    // Recorded with the config sent, so that it can be compiled again from history (enforced-config.ts).
    const inputs: PushInputs = { revision: snap.revision, node, jwks: Object.fromEntries(snap.jwks) };
    if (snap.serviceCidr !== undefined) inputs.serviceCidr = snap.serviceCidr;
    if (c.blocked || this.#waiting.has(c)) {
      c.pending = version === c.status.sentVersion ? undefined : { compiled, inputs };
      if (!c.pending) this.#waiting.delete(c);
      return;
    }
    if (version === c.status.sentVersion) return;
    c.pending = { compiled, inputs };
    this.#waiting.add(c);
    this.#sendWaiting();
  }

  /**
   * One config line on the stream. A full buffer (the proxy reads slowly, or HTTP/2 flow control holds the
   * stream) blocks the connection until 'drain'; meanwhile only the newest config is kept, so a slow proxy costs
   * one pending config, not one per change. A blocked stream holds a send slot: with thousands of proxies, the
   * bytes buffered for them at once stay bounded, and the rest wait their turn in arrival order.
   */
  #sendWaiting(): void {
    const max = this.deps.maxConfigsInFlight ?? 64;
    for (const c of this.#waiting) {
      if (this.#inFlight >= max) return;
      this.#waiting.delete(c);
      const next = c.pending;
      c.pending = undefined;
      if (next && next.compiled.config.version !== c.status.sentVersion) this.#write(c, next);
    }
  }

  #write(c: Connection, { compiled, inputs }: PendingConfig): void {
    const { stream } = c;
    if (stream.closed || stream.destroyed) return;
    const { version } = compiled.config;
    c.status.sentVersion = version;
    this.#acked.sent(c.status.id, compiled.config);
    if (this.deps.onConfigEvent) {
      const configSha256 = configDigest(compiled.jsonParts);
      // Only the newest few versions can still be answered; older ones are superseded on the stream.
      if (c.sentSha256.size >= 8) c.sentSha256.delete(c.sentSha256.keys().next().value as string);
      c.sentSha256.set(version, configSha256);
      this.deps.onConfigEvent({ proxy: c.status.id, outcome: 'sent', configVersion: version, configSha256, inputs });
    }
    // Only the newest few versions can still be answered; older ones are superseded on the stream.
    if (c.unanswered.size >= 8) c.unanswered.delete(c.unanswered.keys().next().value as string);
    c.unanswered.set(version, compiled);
    const base = c.deltas ? c.base : undefined;
    c.base = compiled;
    c.status.sentAs = base === undefined ? 'config' : 'config-delta';
    if (base === undefined ? writeConfigLine(stream, compiled.jsonParts) : writeLine(stream, configDeltaParts(base, compiled))) return;
    c.blocked = true;
    this.#inFlight++;
    stream.once('drain', () => {
      if (!c.blocked) return;
      c.blocked = false;
      this.#inFlight--;
      if (c.pending) this.#waiting.add(c);
      this.#sendWaiting();
    });
  }

  /** A closed stream never drains: give back its slot. */
  #forget(c: Connection): void {
    if (c.blocked) {
      c.blocked = false;
      this.#inFlight--;
    }
    c.pending = undefined;
    this.#waiting.delete(c);
    this.#sendWaiting();
  }

  #recordOutcome(c: Connection, outcome: 'ack' | 'nack', version: unknown, reason?: unknown): void {
    if (!this.deps.onConfigEvent || typeof version !== 'string') return;
    const event: ConfigEvent = { proxy: c.status.id, outcome, configVersion: version, configSha256: c.sentSha256.get(version) ?? null };
    if (typeof reason === 'string') event.reason = reason.slice(0, 1024);
    this.deps.onConfigEvent(event);
  }

  #onProxyMessage(c: Connection, msg: ProxyMessage): void {
    switch (msg.type) {
      case 'ack':
        c.status.ackedVersion = msg.version;
        c.acked = c.unanswered.get(msg.version) ?? c.acked;
        c.unanswered.delete(msg.version);
        if (typeof msg.version === 'string') this.#acked.ack(c.status.id, msg.version);
        this.#recordOutcome(c, 'ack', msg.version);
        break;
      case 'nack':
        c.status.lastNack = { version: msg.version, reason: msg.reason, at: new Date().toISOString() };
        // The proxy still holds what it last ACKed: later deltas go against that (those already written against
        // the rejected version will not merge, and the proxy asks for a resync).
        c.unanswered.delete(msg.version);
        c.base = c.acked;
        if (typeof msg.version === 'string') this.#acked.nack(c.status.id, msg.version);
        this.#recordOutcome(c, 'nack', msg.version, msg.reason);
        this.deps.log.warn('proxy rejected config', { proxy: c.status.id, version: msg.version, reason: msg.reason });
        break;
      case 'cert':
        c.status.certNotAfter = msg.notAfter;
        break;
      case 'resync':
        this.deps.log.info('proxy asked for its whole config', { proxy: c.status.id, have: msg.have, reason: msg.reason });
        c.base = undefined;
        c.status.resyncs++;
        c.status.sentVersion = null;
        this.#push(c, this.deps.snapshot());
        break;
      case 'jwks-refresh':
        if (Array.isArray(msg.uris)) this.deps.onJwksRefresh(msg.uris.filter((u): u is string => typeof u === 'string').slice(0, 64));
        break;
      case 'runtime':
        this.#runtime.answer(c, msg.id, 'report' in msg ? msg.report : undefined, 'error' in msg ? msg.error : undefined);
        break;
      case 'hello':
        break;
    }
  }
}

/** Shared sections as bytes, encoded once and written to every stream that shares them without a copy each. */
const sectionBytes = new WeakMap<SharedSection<unknown>, Buffer>();

function bytesOf(section: SharedSection<unknown>): Buffer {
  let b = sectionBytes.get(section);
  if (!b) {
    b = Buffer.from(section.json, 'utf8');
    sectionBytes.set(section, b);
  }
  return b;
}

/**
 * The audit chain's digest of a config: SHA-256 over its parts in order, each framed by kind and length, a shared
 * section by its own SHA-256. It binds the config's exact bytes as SHA-256 of the bytes would, but costs the
 * proxy's own part per proxy: hashing every proxy's whole config on every change was most of a push to thousands.
 */
export function configDigest(parts: readonly ConfigJsonPart[]): string {
  const h = createHash('sha256').update('weft-config-parts-v1\n');
  for (const p of parts) {
    if (typeof p === 'string') h.update(`s${Buffer.byteLength(p)}:`).update(p);
    else h.update(`h:${p.hash}`);
  }
  return h.digest('hex');
}

/** SHA-256 of the config's JSON exactly as written after `"config":`: the digest audit records held before the above. */
export function configBytesDigest(parts: readonly ConfigJsonPart[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : bytesOf(p));
  return h.digest('hex');
}

/** `{"type":"config","config":…}` and a newline, the config written from its parts; false when the buffer is full. */
function writeConfigLine(stream: http2.ServerHttp2Stream, parts: readonly ConfigJsonPart[]): boolean {
  stream.cork();
  let ok = stream.write('{"type":"config","config":');
  for (const p of parts) ok = stream.write(typeof p === 'string' ? p : bytesOf(p));
  ok = stream.write('}\n');
  stream.uncork();
  return ok;
}

/** A line written from its parts (shared sections by their bytes); false when the buffer is full. */
function writeLine(stream: http2.ServerHttp2Stream, parts: readonly DeltaPart[]): boolean {
  stream.cork();
  let ok = true;
  for (const p of parts) ok = stream.write(typeof p === 'string' ? p : bytesOf(p));
  ok = stream.write('\n');
  stream.uncork();
  return ok;
}

function send(stream: http2.ServerHttp2Stream, msg: ControlMessage): void {
  if (!stream.closed && !stream.destroyed) stream.write(`${JSON.stringify(msg)}\n`);
}

function sendJson(res: http2.Http2ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function statusOf(code: string): number {
  if (code.startsWith('TOKEN_') || code === 'UNAUTHENTICATED') return 401;
  if (code === 'CSR_IDENTITY_MISMATCH' || code === 'FORBIDDEN') return 403;
  if (code === 'CSR_INVALID' || code === 'BAD_REQUEST') return 400;
  return 500;
}

function readBody(req: http2.Http2ServerRequest, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new WeftError('BAD_REQUEST', 'request body too large', { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

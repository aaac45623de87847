/**
 * The proxy's side of the push stream: obtain certificates (HTTP/2 requests), receive configs on a TLS connection of
 * its own (ALPN PUSH_ALPN, mTLS, the control plane's SPIFFE ID checked), answer ACK or NACK, ping, and keep trying
 * with backoff while the control plane is away (the data plane keeps serving on its last good config meanwhile).
 * With several control-plane replicas, a lost stream is retried on the next replica at once; the backoff grows
 * only once every replica has failed in a row.
 */
import http2 from 'node:http2';
import tls from 'node:tls';
import type { Clock } from '../../clock.js';
import { WeftError } from '../../errors.js';
import { LineDecoder, MAX_CONTROL_MESSAGE_BYTES, PUSH_ALPN, PUSH_PATHS, PUSH_PING_INTERVAL_MS } from '../../push/protocol.js';
import type { ControlMessage, NodeInfo, ProxyMessage, SignRequest, SignResponse } from '../../push/protocol.js';
import type { SignedSvid, WorkloadCertificate } from '../tls/workload-certificate.js';
import type { ProxyLog } from '../proxy-runtime.js';
import type { ProxyRuntimeReport } from '../../push/runtime-report.js';
import { spiffeIdOfPeer } from '../../identity/tls-peer.js';
import { CONFIG_DELTA_FEATURE } from '../../push/config-delta.js';
import { ConfigReceiver } from './config-receiver.js';
import type { ConfigAcceptor, ReceivedConfig } from './config-receiver.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';

export interface ControlConnectionOptions<C extends ReceivedConfig = CompiledProxyConfig> {
  /** https://host:port of every control-plane replica (one or more). */
  urls: readonly string[];
  /** Roots that the control plane's certificate must chain to (before this proxy has its own bundle). */
  bootstrapCaPem: string;
  /** SPIFFE ID the control plane must present. */
  controlSpiffeId: string;
  cert: WorkloadCertificate;
  node: NodeInfo;
  clock: Clock;
  log: ProxyLog;
  /** Apply a config, made ready by `acceptor`; reject with the reason to NACK it. */
  onConfig: (config: C) => Promise<string>;
  /** How a config is made ready; the proxy's (checked and compiled) unless given. */
  acceptor?: ConfigAcceptor<C>;
  /** The proxy's runtime state, when the control plane asks for it. */
  runtimeReport: () => ProxyRuntimeReport;
}

const MAX_BACKOFF_MS = 5_000;
/** Pings in a row with nothing heard before the stream is dropped. */
const MISSED_PINGS = 3;
/** The pause before trying the next replica after one failed, while others are still untried this round. */
const NEXT_REPLICA_MS = 100;

export class ControlConnection<C extends ReceivedConfig = CompiledProxyConfig> {
  /** The push stream's TLS connection. */
  #socket: tls.TLSSocket | undefined;
  #backoff = 200;
  #stopped = false;
  #pinger: NodeJS.Timeout | undefined;
  #connected = false;
  /** The replica in use, and how many replicas failed in a row since the last good stream. */
  #current = 0;
  #failuresInRow = 0;
  readonly #configs: ConfigReceiver<C>;

  constructor(private readonly o: ControlConnectionOptions<C>) {
    if (o.urls.length === 0) throw new TypeError('a control connection needs at least one control-plane URL');
    this.#configs = new ConfigReceiver<C>({ onConfig: o.onConfig, send: (msg) => this.#send(msg), log: o.log, ...(o.acceptor === undefined ? {} : { acceptor: o.acceptor }) });
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The first certificate, authorised by the bootstrap token. */
  signWithToken(csr: string, token: string, identity: Omit<SignRequest, 'csr'>): Promise<SignedSvid> {
    return this.#onAnyReplica((url) => {
      const session = http2.connect(url, { ca: this.o.bootstrapCaPem, checkServerIdentity: (_h, cert) => this.#checkControl(cert) });
      return this.#sign(session, PUSH_PATHS.sign, { csr, ...identity }, { authorization: `Bearer ${token}` }).finally(() => session.close());
    });
  }

  /** Renewal over mTLS with the certificate being replaced. */
  renew(csr: string): Promise<SignedSvid> {
    return this.#onAnyReplica((url) => {
      const session = this.#mtlsSession(url);
      return this.#sign(session, PUSH_PATHS.renew, { csr }, {}).finally(() => session.close());
    });
  }

  /**
   * Tries each replica from the current one until one answers. A refusal (a coded error: a spent token, a bad CSR)
   * is the control plane's answer, not an outage, so it is not retried elsewhere.
   */
  async #onAnyReplica<T>(call: (url: string) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < this.o.urls.length; i++) {
      const index = (this.#current + i) % this.o.urls.length;
      try {
        const result = await call(this.o.urls[index] as string);
        this.#current = index;
        return result;
      } catch (err) {
        if (err instanceof WeftError) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  start(): void {
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#pinger);
    this.#socket?.destroy();
  }

  requestJwksRefresh(uris: string[]): void {
    this.#send({ type: 'jwks-refresh', uris });
  }

  reportCertificate(notAfter: number): void {
    this.#send({ type: 'cert', notAfter: new Date(notAfter).toISOString() });
  }

  #checkControl(cert: Parameters<NonNullable<http2.SecureClientSessionOptions['checkServerIdentity']>>[1]): Error | undefined {
    const id = spiffeIdOfPeer(cert);
    return id === this.o.controlSpiffeId
      ? undefined
      : new WeftError('PEER_IDENTITY_MISMATCH', `control plane presented ${id ?? 'no SPIFFE ID'}, expected ${this.o.controlSpiffeId}`);
  }

  #mtlsSession(url: string): http2.ClientHttp2Session {
    return http2.connect(url, {
      secureContext: this.o.cert.current.clientContext,
      checkServerIdentity: (_h, cert) => this.#checkControl(cert),
    });
  }

  #sign(session: http2.ClientHttp2Session, path: string, body: unknown, headers: http2.OutgoingHttpHeaders): Promise<SignedSvid> {
    return new Promise((resolve, reject) => {
      session.on('error', reject);
      const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json', ...headers });
      let status = 0;
      let text = '';
      req.setEncoding('utf8');
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: string) => (text += c));
      req.on('error', reject);
      req.on('end', () => {
        // A replica that cannot answer (its store is away) is an outage like a refused connection: try another.
        if (status >= 500) {
          reject(new Error(`control plane answered ${status}: ${errorMessage(text)}`));
          return;
        }
        if (status !== 200) {
          reject(new WeftError('CERT_INVALID', `certificate request refused (${status}): ${errorMessage(text)}`));
          return;
        }
        const r = JSON.parse(text) as SignResponse;
        resolve({ certChainPem: r.certChain, trustBundlePem: r.trustBundle });
      });
      req.setTimeout(10_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
      req.end(JSON.stringify(body));
    });
  }

  #connect(): void {
    if (this.#stopped) return;
    const url = this.o.urls[this.#current] as string;
    const { hostname, port } = new URL(url);
    const socket = tls.connect({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port || 443),
      secureContext: this.o.cert.current.clientContext,
      ALPNProtocols: [PUSH_ALPN],
      checkServerIdentity: (_h, cert) => this.#checkControl(cert),
    });
    this.#socket = socket;
    const retry = (why: string): void => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (this.#connected) this.o.log.warn('control plane stream lost; serving on the last good config', { reason: why });
      this.#connected = false;
      clearTimeout(this.#pinger);
      socket.destroy();
      if (this.#stopped) return;
      // Next replica at once while some are untried this round; the backoff only when all failed in a row.
      this.#current = (this.#current + 1) % this.o.urls.length;
      this.#failuresInRow++;
      let delay = NEXT_REPLICA_MS;
      if (this.#failuresInRow % this.o.urls.length === 0) {
        delay = this.#backoff * (0.8 + Math.random() * 0.4);
        this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
      }
      this.o.clock.setTimeout(() => this.#connect(), delay);
    };
    /** Something came from the control plane since the last liveness tick. */
    let heard = false;
    socket.on('error', (err) => retry(err.message));
    socket.on('close', () => retry('closed'));
    socket.on('end', () => retry('ended by the control plane'));
    socket.on('secureConnect', () => {
      // A server that does not speak the push protocol may still pick no ALPN id and finish the handshake.
      if (socket.alpnProtocol !== PUSH_ALPN) {
        retry(`the control plane did not negotiate ${PUSH_ALPN}`);
        return;
      }
      this.#connected = true;
      heard = true;
      this.#backoff = 200;
      this.#failuresInRow = 0;
      this.o.log.info('control plane stream connected', { url });
    });
    const decoder = new LineDecoder((line) => this.#onMessage(JSON.parse(line) as ControlMessage), MAX_CONTROL_MESSAGE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      heard = true;
      try {
        decoder.push(chunk);
      } catch (err) {
        retry((err as Error).message);
      }
    });
    this.#configs.reset();
    const hello: ProxyMessage = { type: 'hello', node: this.o.node, certNotAfter: new Date(this.o.cert.current.notAfter).toISOString(), accepts: [CONFIG_DELTA_FEATURE] };
    this.#send(hello);

    // Liveness: a finished handshake, then anything read (a config, a pong), shows the control plane is there.
    // Silent for MISSED_PINGS intervals in a row, as the control plane allows its proxies, the stream is taken for
    // dead: a control plane busy for a moment (thousands of proxies connecting at once) must not have its
    // handshakes and streams dropped and begun again.
    let missed = 0;
    const tick = (): void => {
      missed = heard ? 0 : missed + 1;
      heard = false;
      if (missed >= MISSED_PINGS) {
        retry(this.#connected ? 'keepalive: no answer from the control plane' : 'no TLS handshake with the control plane');
        return;
      }
      if (this.#connected) this.#send({ type: 'ping' });
      this.#pinger = this.o.clock.setTimeout(tick, PUSH_PING_INTERVAL_MS);
    };
    clearTimeout(this.#pinger);
    this.#pinger = this.o.clock.setTimeout(tick, PUSH_PING_INTERVAL_MS);
  }

  #onMessage(msg: ControlMessage): void {
    if (msg.type === 'error') {
      this.o.log.warn('control plane refused this proxy', { message: msg.message });
      return;
    }
    if (msg.type === 'report-runtime') {
      // A report that cannot be made is answered with why, never by dropping the stream that carries configs.
      try {
        this.#send({ type: 'runtime', id: String(msg.id), report: this.o.runtimeReport() });
      } catch (err) {
        this.#send({ type: 'runtime', id: String(msg.id), error: err instanceof Error ? err.message : String(err) });
      }
      return;
    }
    if (msg.type === 'pong') return;
    if (msg.type === 'config-delta') this.#configs.delta(msg);
    else if (msg.type === 'config') this.#configs.full(msg.config);
  }

  #send(msg: ProxyMessage): void {
    const socket = this.#socket;
    if (socket && !socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
  }
}

function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    return body.error?.message ?? text;
  } catch {
    return text;
  }
}

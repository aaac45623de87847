/**
 * `weft control`: the control plane process. One TLS listener serves the push streams (mTLS, proxies, by ALPN) and,
 * over HTTP/2 or HTTP/1.1, certificate signing and the API (bearer credentials, CLI and dashboard); each route
 * checks its own kind of credential. Store changes
 * are debounced into one snapshot and pushed to every connected proxy.
 */
import fs from 'node:fs';
import type http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { WeftError } from '../errors.js';
import type { CertificateAuthority } from '../identity/ca.js';
import { BootstrapTokens } from '../identity/bootstrap-token.js';
import { createCsr, generateWorkloadKey } from '../identity/workload-key.js';
import { validateDocument } from '../config/validate.js';
import { admitBatch } from './api/admission.js';
import type { MeshSettings } from '../config/kinds/mesh-config.js';
import { newReplicaId, openControlBase } from './replica/control-base.js';
import type { StoreChoice } from './replica/control-base.js';
import { ApiCredentials } from './api/credentials.js';
import { SecretSealer, unsealAll } from './secrets/secret-sealing.js';
import { ResourceMirror } from './store/resource-mirror.js';
import type { Resource } from '../config/resource.js';
import { createApiHandler } from './api/handler.js';
import type { ApiDeps } from './api/handler.js';
import { flushUnauthenticated } from './api/refusal-audit.js';
import { UnauthenticatedTally } from './api/unauthenticated-tally.js';
import { PushServer } from './push-server.js';
import { CompileSettingsRecord } from './compile-settings-record.js';
import type { PushEvent } from './store/audit-chain.js';
import { verifiedSpiffeId } from './push-signing.js';
import { alpnListener } from './alpn-listener.js';
import type { AlpnListenerOptions } from './alpn-listener.js';
import { buildSnapshot } from './compile/snapshot.js';
import { parseServiceCidr } from './compile/service-vips.js';
import type { MeshSnapshot } from './compile/snapshot.js';
import { controlLog } from './control-log.js';
import { JwksCache } from './jwks-cache.js';
import type { JwksCacheOptions } from './jwks-cache.js';
import { ReplicatedJwks } from './replica/replicated-jwks.js';
import type { JwksSource } from './replica/replicated-jwks.js';
import type { ControlBase } from './replica/control-base.js';
import { jwksFetcher } from './jwks-fetcher.js';
import { jwksUris } from './compile/security.js';
import { systemClock } from '../clock.js';
import { PushDebounce } from './push-debounce.js';
import { CONTROL_PLANE_SERVICE_ACCOUNT } from '../push/protocol.js';
import { stateDirLayout } from '../mesh/state-dir.js';
import { signAuditHead } from './audit-head.js';
import { ControlPlaneMetrics } from './control-metrics.js';

export interface ControlPlaneOptions {
  stateDir: string;
  /** host:port to listen on; port 0 picks one. */
  listen: string;
  bootstrap: MeshSettings;
  /** An operator's CA to run as (usually an intermediate), instead of a self-made root. */
  caFiles?: { certFile: string; keyFile: string; chainFile?: string };
  /** The range service VIPs are allocated from (e.g. the pods' service subnet); without one services have no VIPs. */
  serviceCidr?: string;
  /** How often the audit chain's head is signed (it is also signed at stop); default one minute. */
  auditSignIntervalMs?: number;
  /** How long resource history is kept; undefined keeps every revision. */
  historyRetentionMs?: number;
  /** SQLite in the state directory (default), or etcd shared with other replicas. */
  store?: StoreChoice;
  /** host:port of the plaintext Prometheus listener (istiod's 15014); undefined: none. */
  metricsListen?: string;
}

export interface RunningControlPlane {
  address: string;
  /** host:port of the metrics listener, when one was asked for. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

type ApiRequest = http2.Http2ServerRequest;
type ApiResponse = http2.Http2ServerResponse;

const SERVING_CERT_TTL_MS = 24 * 3600_000;
export async function runControlPlane(o: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = controlLog();
  // A bad range is refused at start rather than failing every proxy's compile.
  if (o.serviceCidr !== undefined) parseServiceCidr(o.serviceCidr);
  const network = { serviceCidr: o.serviceCidr };
  const layout = stateDirLayout(o.stateDir);
  fs.mkdirSync(layout.root, { recursive: true, mode: 0o700 });
  const base = await openControlBase({
    layout,
    store: o.store ?? { kind: 'sqlite' },
    trustDomain: o.bootstrap.trustDomain,
    caFiles: o.caFiles,
    replicaId: newReplicaId(o.listen),
    log,
  });
  const { store, ca, auditKey } = base;
  fs.mkdirSync(layout.caDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(layout.trustBundleFile, ca.trustBundlePem(), { mode: 0o644 });

  const tokens = new BootstrapTokens(store.tokens);
  const credentials = new ApiCredentials(store, base.credentialKey, systemClock.now);
  await ensureAdminCredential(credentials, layout.adminCredentialFile, o.store?.kind === 'etcd', log);

  let serving = await servingCertificate(ca, o.bootstrap);
  const sealer = new SecretSealer(base.secretKey);
  // Secrets are unsealed here only, where gateway configs are compiled; everything else reads the sealed form.
  // Every compile reads the resources from memory, kept current by the store's watch (resource-mirror.ts).
  const mirror = new ResourceMirror(store);
  const resourcesForCompile = async (): Promise<Resource[]> => unsealAll(await mirror.list(), sealer);
  let snapshot: MeshSnapshot = buildSnapshot(await resourcesForCompile(), await mirror.revision(), o.bootstrap, new Map(), network);
  const jwks = await jwksSource(base, {
    fetch: jwksFetcher(
      () => snapshot,
      () => ({ key: serving.key, cert: serving.cert, ca: ca.trustBundlePem() }),
    ),
    onChange: () => scheduleRefresh(),
    clock: systemClock,
    log,
  });
  const settingsRecord = new CompileSettingsRecord(
    o.bootstrap,
    (event) => store.appendAudit(event),
    (err) => log.warn('cannot audit the compile settings', { error: String(err) }),
  );
  // eslint-disable-next-line prefer-const -- the push server is made below and the metrics read it
  let push: PushServer;
  const metrics = new ControlPlaneMetrics({ clock: systemClock, revision: () => snapshot.revision, proxies: () => push.proxies() });
  push = new PushServer({
    onJwksRefresh: (uris) => jwks.refresh(uris),
    ca: countingSignatures(ca, (ok) => metrics.csr(ok)),
    tokens,
    snapshot: () => snapshot,
    certificateTtlMs: () => snapshot.mesh.certificateTtlMs,
    log,
    onConfigEvent: ({ inputs, ...event }) => {
      metrics.configEvent(event);
      // A sent config records what it was compiled from, to be compiled again; the bootstrap settings (flags, not the
      // store) and the JWKS documents by the digest of their settings entry.
      const recorded: PushEvent = inputs === undefined ? { type: 'push', ...event } : { type: 'push', ...event, inputs: settingsRecord.inputsOf(inputs) };
      store.appendAudit(recorded).catch((err: unknown) => log.warn('cannot audit a config push', { error: String(err) }));
    },
  });
  const apiDeps: ApiDeps = {
    store,
    credentials,
    rootNamespace: o.bootstrap.rootNamespace,
    tokens: { issue: (subject, ttlMs) => tokens.issue(subject, ttlMs) },
    validate: (doc, origin) => validateDocument(doc, origin),
    sealSecret: (secret, prior) => sealer.seal(secret, prior),
    unsealSecrets: (resources) => unsealAll(resources, sealer),
    admit: (batch, force) => admitBatch(mirror, batch, { force, rootNamespace: o.bootstrap.rootNamespace }),
    proxyStatus: () => push.proxies(),
    proxies: push,
    unauthenticated: new UnauthenticatedTally({ clock: systemClock.now }),
    onInternalError: (err) => log.warn('internal error in API', { error: String((err as Error)?.stack ?? err) }),
  };
  const api = createApiHandler(apiDeps);

  const debounce = new PushDebounce({
    clock: systemClock,
    push: (firstChangeAt) => refresh(firstChangeAt),
    onError: (err) => log.warn('cannot recompile after a change', { error: String(err) }),
  });
  const scheduleRefresh = (): void => debounce.changed();
  const unwatch = store.watch(scheduleRefresh);
  const refresh = async (firstChangeAt: number): Promise<void> => {
    const started = systemClock.now();
    snapshot = buildSnapshot(await resourcesForCompile(), await mirror.revision(), o.bootstrap, jwks.documents(), network);
    const built = systemClock.now();
    jwks.track(jwksUris(snapshot));
    push.pushAll();
    // As istiod logs its pushes: how long reading the store and compiling for every proxy took.
    // debounceMs: from the first change this push carries (as the store's watch told it) to the push's start.
    log.info('config pushed', { revision: snapshot.revision, debounceMs: started - firstChangeAt, snapshotMs: built - started, pushMs: systemClock.now() - built });
  };
  jwks.track(jwksUris(snapshot));
  const onRequest = (req: ApiRequest, res: ApiResponse): void => {
    if (push.handle(req, res)) return;
    api(req, res).then(
      (handled) => {
        if (!handled && !res.headersSent) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } }));
        }
      },
      (err: unknown) => {
        log.warn('request failed', { error: String(err) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
  };
  const listener = alpnListener({
    key: serving.key,
    cert: serving.cert,
    ca: ca.trustBundlePem(),
    // The HTTP/1 request and response classes are what an HTTP/2 server with HTTP/1 fallback handed the routes too.
    onRequest: onRequest as AlpnListenerOptions['onRequest'],
    onPushStream: (socket) => push.accept(socket, verifiedSpiffeId(socket)),
  });
  const server = listener.tls;
  // Proxies and CLI clients hold connections open; stopping must not wait for them to leave.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Keep the serving certificate fresh; new handshakes pick up the new one.
  const renew = setInterval(() => {
    servingCertificate(ca, o.bootstrap).then(
      (next) => {
        serving = next;
        listener.setSecureContext({ key: next.key, cert: next.cert, ca: ca.trustBundlePem() });
      },
      (err: unknown) => log.warn('serving certificate renewal failed', { error: String(err) }),
    );
  }, SERVING_CERT_TTL_MS / 2);
  renew.unref();
  // Signing the head bounds what truncating the store can hide; retention and the tallies of unauthenticated calls
  // (written before the head, so that it covers them) run on the same beat.
  const signHead = (): Promise<unknown> => signAuditHead(store, auditKey, layout.auditHeadFile, systemClock.now);
  // Singleton work: with replicas, only the one holding the leader lease signs heads and prunes history.
  const leadSignHead = (): Promise<unknown> => (base.leading() ? signHead() : Promise.resolve());
  const keepHistory = async (): Promise<void> => {
    if (o.historyRetentionMs === undefined || !base.leading()) return;
    const cutoff = new Date(systemClock.now() - o.historyRetentionMs).toISOString();
    await store.pruneHistory(await store.revisionAt(cutoff));
  };
  const auditBeat = setInterval(() => {
    Promise.all([flushUnauthenticated(apiDeps).then(leadSignHead), keepHistory()]).catch((err: unknown) => log.warn('audit head or history retention failed', { error: String(err) }));
  }, o.auditSignIntervalMs ?? 60_000);
  auditBeat.unref();

  const [host, portText] = splitHostPort(o.listen);
  await listener.listen(Number(portText), host);
  const a = server.address() as AddressInfo;
  const address = `${a.address}:${a.port}`;
  const metricsServer = o.metricsListen === undefined ? undefined : metrics.server();
  let metricsAddress: string | undefined;
  if (metricsServer && o.metricsListen !== undefined) {
    const [mHost, mPort] = splitHostPort(o.metricsListen);
    await new Promise<void>((resolve, reject) => {
      metricsServer.once('error', reject);
      metricsServer.listen(Number(mPort), mHost, () => resolve());
    });
    const m = metricsServer.address() as AddressInfo;
    metricsAddress = `${m.address}:${m.port}`;
  }
  log.info('control plane ready', { address, metrics: metricsAddress ?? null, revision: snapshot.revision, trustDomain: o.bootstrap.trustDomain });

  return {
    address,
    ...(metricsAddress === undefined ? {} : { metricsAddress }),
    async stop() {
      metricsServer?.close();
      clearInterval(renew);
      clearInterval(auditBeat);
      debounce.stop();
      unwatch();
      mirror.close();
      await jwks.stop();
      push.closeAll();
      const closed = listener.close();
      for (const socket of sockets) socket.destroy();
      await closed;
      await flushUnauthenticated(apiDeps, true).then(leadSignHead).catch((err: unknown) => log.warn('cannot sign the audit head at stop', { error: String(err) }));
      await base.close();
    },
  };
}

/** One process fetches its JWKS documents itself; replicas on etcd leave it to the leader and read them from the store. */
async function jwksSource(base: ControlBase, o: JwksCacheOptions): Promise<JwksSource> {
  if (base.sharedJwks === undefined) return new JwksCache(o);
  const replicated = new ReplicatedJwks({ records: base.sharedJwks, fetch: o.fetch, onChange: o.onChange, leading: () => base.leading(), clock: o.clock, log: o.log });
  base.onLeadershipChange((leading) => replicated.leadershipChanged(leading));
  await replicated.start();
  return replicated;
}

/** The control plane's own SVID, with IP and DNS SANs so the CLI can also check it by address. */
async function servingCertificate(ca: CertificateAuthority, mesh: MeshSettings): Promise<{ key: string; cert: string }> {
  const key = await generateWorkloadKey();
  const spiffeId = `spiffe://${mesh.trustDomain}/ns/${mesh.rootNamespace}/sa/${CONTROL_PLANE_SERVICE_ACCOUNT}`;
  const csr = await createCsr(key, spiffeId);
  const issued = await ca.signCsr(csr, { spiffeId, ttlMs: SERVING_CERT_TTL_MS });
  return { key: key.privateKeyPem, cert: issued.chainPem };
}

/**
 * The mesh-admin credential in the state directory, made on first start and again if the store no longer accepts
 * it (revoked, or written under another key). On a shared store, a replica without the file leaves an admin
 * credential another replica made alone: issuing again would rotate it under that replica's operators.
 */
async function ensureAdminCredential(credentials: ApiCredentials, file: string, shared: boolean, log: ReturnType<typeof controlLog>): Promise<void> {
  if (fs.existsSync(file)) {
    const secret = fs.readFileSync(file, 'utf8').trim();
    const valid = await credentials.verify(secret).then(
      (p) => p.bindings.some((b) => b.role === 'mesh-admin'),
      () => false,
    );
    if (valid) return;
  } else if (shared && (await credentials.list()).some((c) => c.name === 'admin' && c.revokedAt === undefined)) {
    log.info('the mesh-admin credential was made by another replica; copy its admin.credential to use this one', { file });
    return;
  }
  const { secret } = await credentials.create({ name: 'admin', role: 'mesh-admin', namespaces: [] });
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** The CA as the push server uses it, with each signing counted (CSRs received, signed, refused). */
function countingSignatures(ca: CertificateAuthority, counted: (ok: boolean) => void): CertificateAuthority {
  return new Proxy(ca, {
    get(target, prop) {
      if (prop !== 'signCsr') {
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (...args: Parameters<CertificateAuthority['signCsr']>) => {
        try {
          const signed = await target.signCsr(...args);
          counted(true);
          return signed;
        } catch (err) {
          counted(false);
          throw err;
        }
      };
    },
  });
}

export function splitHostPort(hostPort: string): [string, string] {
  const i = hostPort.lastIndexOf(':');
  if (i < 0) throw new WeftError('BAD_REQUEST', `address ${hostPort} must be host:port`);
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  return [host, hostPort.slice(i + 1)];
}

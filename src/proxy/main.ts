/**
 * `weft proxy`: one process per pod (sidecar) or per gateway. Start-up order matters: a certificate first (the
 * listeners need it), then listeners, then the push stream that brings config; until config arrives requests get
 * a 503 with a reason. SIGTERM drains: listeners stop accepting, requests in flight finish.
 * A sidecar with WEFT_DNS_PORT also runs the pod's DNS proxy on 127.0.0.1, its names rebuilt when a config changes them;
 * WEFT_DNS_UPSTREAM names the servers it forwards to and that egress destinations are resolved with.
 */
import fs from 'node:fs';
import type net from 'node:net';
import { systemClock } from '../clock.js';
import type { ProxySettings } from './settings.js';
import { WorkloadCertificate } from './tls/workload-certificate.js';
import { EndpointPools } from './upstream/endpoint-pools.js';
import { H2SessionPools } from './http2/h2-session-pool.js';
import { ControlConnection } from './control/control-connection.js';
import { replicaKey, replicaOrder } from './control/replica-order.js';
import { acceptProxyConfig } from './config/compiled-config.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import { jsonLog } from './proxy-runtime.js';
import { swapConfig } from './swap-config.js';
import type { ServedNames } from './swap-config.js';
import { proxyTelemetry } from './telemetry/access-log.js';
import { ProxyMetrics } from './telemetry/proxy-metrics.js';
import { AccessLogWriter } from './telemetry/access-log-writer.js';
import { HopTracer } from './telemetry/hop-tracer.js';
import { createAdminServer } from './admin/admin-server.js';
import { runtimeReport } from './admin/runtime-report.js';
import { createInboundListener } from './inbound/index.js';
import { createOutboundListener } from './outbound/index.js';
import { createGatewayListeners } from './gateway/index.js';
import { createCaptureListener } from './capture/capture-listener.js';
import { redirectedPort } from './capture/redirected-port.js';
import { CONTROL_PLANE_SERVICE_ACCOUNT } from '../push/protocol.js';
import { upstreamResolver } from './upstream/external-resolver.js';
import { startDnsProxy } from './dns/dns-proxy.js';
import type { DnsProxy } from './dns/dns-proxy.js';
import { EndpointRegistry } from './balance/endpoint-registry.js';

const JWKS_REFRESH_INTERVAL_MS = 5_000;

export interface RunningProxy {
  stop(): Promise<void>;
}

/**
 * `onFatal` is told when the proxy cannot go on (its certificate expired unrenewed); the CLI exits so that its
 * supervisor starts it again with a fresh bootstrap token.
 */
export async function runProxy(s: ProxySettings, onFatal: (reason: string) => void): Promise<RunningProxy> {
  const log = jsonLog(`proxy/${s.namespace}/${s.name}`);
  const spiffeId = `spiffe://${s.trustDomain}/ns/${s.namespace}/sa/${s.serviceAccount}`;
  const cert = new WorkloadCertificate(spiffeId, systemClock, (m, f) => log.info(m, f), () =>
    onFatal('workload certificate expired and the control plane could not renew it'),
  );
  let lastJwksRefresh = 0;
  // Labels come from the config in force; the runtime is built below, so the metrics read it through a getter.
  const tracer = new HopTracer(() => rt.config?.raw, { exported: (n) => metrics.spanCounts.exported(n), dropped: (n, r) => metrics.spanCounts.dropped(n, r) });
  const metrics = new ProxyMetrics(`${s.namespace}/${s.name}`, () => rt.config?.raw, () => (cert.ready ? cert.current : undefined), systemClock);
  const rt: ProxyRuntime = {
    config: undefined,
    cert,
    pools: new EndpointPools(cert),
    h2Pools: new H2SessionPools(cert, systemClock),
    endpoints: new EndpointRegistry(systemClock),
    random: Math.random,
    clock: systemClock,
    telemetry: proxyTelemetry({ metrics, accessLog: s.accessLog ? new AccessLogWriter(1, () => rt.config?.raw, (n) => metrics.accessLogDropped(n)) : undefined, spans: tracer }),
    log,
    podIP: s.podIP,
    resolver: upstreamResolver(s.dnsUpstream, systemClock),
    requestJwksRefresh: (uris) => {
      // One request per few seconds is plenty: the control plane refetches and pushes a new config.
      const now = Date.now();
      if (now - lastJwksRefresh < JWKS_REFRESH_INTERVAL_MS) return;
      lastJwksRefresh = now;
      control.requestJwksRefresh(uris);
    },
  };
  const gateway = s.role === 'gateway' ? createGatewayListeners(rt, s.podIP, s.publish, s.gatewayHandshakeTimeoutMs) : undefined;
  const servesDns = s.role === 'sidecar' && s.dnsPort !== undefined;
  const dnsNames: ServedNames | undefined = servesDns ? { table: undefined } : undefined;

  const applyConfig = async (input: unknown): Promise<string> => {
    const next = acceptProxyConfig(input);
    if (rt.config?.version === next.version) return next.version;
    await gateway?.reconcile(next);
    const previous = rt.config;
    swapConfig(rt, next, dnsNames);
    log.info('config applied', { version: next.version, previous: previous?.version ?? null, listeners: gateway?.addresses() });
    return next.version;
  };

  const control = new ControlConnection({
    urls: replicaOrder(s.controlUrls, replicaKey(s.namespace, s.serviceAccount)),
    bootstrapCaPem: s.caBundlePem ?? fs.readFileSync(s.caBundleFile, 'utf8'),
    controlSpiffeId: `spiffe://${s.trustDomain}/ns/${s.controlNamespace}/sa/${CONTROL_PLANE_SERVICE_ACCOUNT}`,
    cert,
    node: { role: s.role, namespace: s.namespace, name: s.name, podIP: s.podIP, labels: s.role === 'gateway' ? s.labels : undefined },
    clock: systemClock,
    log,
    onConfig: applyConfig,
    runtimeReport: () => runtimeReport(rt, systemClock),
  });

  const identity = { namespace: s.namespace, serviceAccount: s.serviceAccount, workload: s.name };
  await cert.issue((csr) => control.signWithToken(csr, s.bootstrapToken, identity));
  cert.scheduleRenewal((csr) => control.renew(csr));

  const servers: net.Server[] = [];
  let dns: DnsProxy | undefined;
  if (s.role === 'sidecar') {
    const capture = s.captureOutboundPort;
    const inbound = createInboundListener(rt, capture === undefined ? undefined : redirectedPort);
    cert.onRotate(() => {
      inbound.rotate();
      control.reportCertificate(cert.current.notAfter);
    });
    servers.push(await listen(inbound.server, s.inboundPort, s.podIP));
    servers.push(await listen(createOutboundListener(rt), s.outboundPort, s.podIP));
    if (capture !== undefined) servers.push(await listen(createCaptureListener(rt), capture, '127.0.0.1'));
    if (servesDns) dns = await startDnsProxy({ port: s.dnsPort!, host: '127.0.0.1', upstream: s.dnsUpstream, table: () => dnsNames?.table });
  } else {
    cert.onRotate(() => {
      gateway?.rotate();
      control.reportCertificate(cert.current.notAfter);
    });
  }
  const admin = await listen(createAdminServer(rt, metrics), s.adminPort, s.podIP);
  servers.push(admin);
  control.start();
  log.info('ready', { spiffeId, role: s.role, inbound: s.role === 'sidecar' ? `${s.podIP}:${s.inboundPort}` : null, admin: admin.address(), dns: dns ? `127.0.0.1:${dns.port}` : null });

  return {
    async stop() {
      control.stop();
      cert.stop();
      await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
      await dns?.close();
      await gateway?.close();
      rt.endpoints.close();
      metrics.close();
      await tracer.close();
      await rt.pools.close();
    },
  };
}

function listen(server: net.Server, port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}

/**
 * Istio's TCP metrics at an inbound opaque TCP port: a connection is counted opened when the app answers, closed
 * when it ends, with the bytes received from the caller and sent back to it, labelled like a request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { createInboundListener } from '../inbound/index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { ProxyMetrics } from './proxy-metrics.js';
import type { AccessLogEntry } from './access-log.js';

/** The app answers every chunk with its length in decimal and a newline, then closes when the caller does. */
const app = net.createServer((s) => {
  s.on('error', () => undefined);
  s.on('data', (d: Buffer) => s.write(`${d.length}\n`));
  s.on('end', () => s.end());
});
let appPort = 0;
let listenerPort = 0;
let listener: net.Server;
let closed: (e: AccessLogEntry) => void = () => undefined;

const metrics = new ProxyMetrics('default/db', () => rt.config?.raw);
const rt: ProxyRuntime = testRuntime({
  telemetry: {
    opened: (e) => metrics.opened(e),
    record: (e) => {
      metrics.record(e);
      closed(e);
    },
  },
});

function config(): ProxyConfig {
  return {
    schema: 3,
    version: 'tcp',
    proxy: { role: 'sidecar', namespace: 'default', name: 'db', spiffeId: 'spiffe://cluster.local/ns/default/sa/db', labels: { app: 'db', version: 'v7' } },
    trustDomain: 'cluster.local',
    inbound: { defaultMode: 'DISABLE', ports: [{ port: appPort, name: 'tcp-db', protocol: 'tcp', mode: 'DISABLE' }], servicePorts: [{ host: 'db.default.svc.cluster.local', port: 5432, targetPort: appPort }] },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
    telemetry: { clusterId: 'Kubernetes', workloads: [] },
  };
}

before(async () => {
  appPort = await listenOnLoopback(app);
  rt.config = acceptProxyConfig(config());
  listener = createInboundListener(rt, () => appPort).server;
  listenerPort = await listenOnLoopback(listener);
});
after(async () => {
  metrics.close();
  listener.close();
  app.close();
  await rt.pools.close();
});

test('opened, closed, bytes each way, and Istio labels', async () => {
  const recorded = new Promise<AccessLogEntry>((resolve) => (closed = resolve));
  await new Promise<void>((resolve) => {
    const c = net.connect(listenerPort, '127.0.0.1', () => c.write('x'.repeat(1000)));
    // The caller hangs up once the app has answered.
    c.on('data', () => c.end());
    c.on('close', () => resolve());
  });
  const entry = await recorded;
  assert.equal(entry.status, 200);
  const text = await metrics.registry.metrics();
  const value = (name: string): number => Number(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`, 'm').exec(text)?.[2]);
  assert.equal(value('istio_tcp_connections_opened_total'), 1);
  assert.equal(value('istio_tcp_connections_closed_total'), 1);
  assert.equal(value('istio_tcp_received_bytes_total'), 1000);
  assert.equal(value('istio_tcp_sent_bytes_total'), '1000\n'.length);
  const labels = /^istio_tcp_connections_closed_total\{([^}]*)\}/m.exec(text)?.[1];
  assert.equal(
    labels,
    'reporter="destination",source_workload="unknown",source_canonical_service="unknown",source_canonical_revision="unknown",source_workload_namespace="unknown",source_principal="unknown",source_app="unknown",source_version="unknown",source_cluster="unknown",' +
      'destination_workload="db",destination_workload_namespace="default",destination_principal="unknown",destination_app="db",destination_version="v7",destination_service="db.default.svc.cluster.local",destination_canonical_service="db",destination_canonical_revision="v7",destination_service_name="db",destination_service_namespace="default",destination_cluster="Kubernetes",' +
      'request_protocol="tcp",response_flags="-",connection_security_policy="none"',
  );
});

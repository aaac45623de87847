import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createInboundListener } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';

/** The app: a server-first protocol (SMTP, MySQL) that greets before the client says anything. */
const app = net.createServer((s) => {
  s.on('error', () => undefined);
  s.end('220 app ready\r\n');
});
let appPort = 0;
let listener: net.Server;
let listenerPort = 0;
const entries: AccessLogEntry[] = [];

function config(mode: 'DISABLE' | 'PERMISSIVE'): ProxyConfig {
  return {
    schema: 3,
    version: mode,
    proxy: { role: 'sidecar', namespace: 'default', name: 'db', spiffeId: 'spiffe://example.org/ns/default/sa/db', labels: {} },
    trustDomain: 'example.org',
    inbound: { defaultMode: mode, ports: [{ port: appPort, name: 'tcp-db', protocol: 'tcp', mode }], servicePorts: [] },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

const rt: ProxyRuntime = testRuntime({
  // No certificate: these callers are plaintext, and a TLS server without one still starts.
  telemetry: { record: (e) => void entries.push(e) },
});

before(async () => {
  appPort = await listenOnLoopback(app);
  // Every connection claims to have been dialled at the app port, as iptables REDIRECT leaves it.
  listener = createInboundListener(rt, () => appPort).server;
  listenerPort = await listenOnLoopback(listener);
});
after(async () => {
  listener.close();
  app.close();
  await rt.pools.close();
});

/** Connect without sending anything; what arrives within `waitMs`. */
function greeting(waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(listenerPort, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => c.destroy(), waitMs);
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

test('a DISABLE tcp port pipes at once: a server-first app greets a silent client', async () => {
  rt.config = acceptProxyConfig(config('DISABLE'));
  assert.equal(await greeting(1000), '220 app ready\r\n');
});

test('the app answering is logged once', async () => {
  rt.config = acceptProxyConfig(config('DISABLE'));
  await new Promise((r) => setTimeout(r, 50)); // the previous test's connection is logged as it closes
  const before = entries.length;
  await greeting(1000);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(entries.length - before, 1);
  assert.equal(entries.at(-1)?.status, 200);
});

test('an app that is not there is logged once, as 503', async () => {
  const saved = appPort;
  appPort = 1; // nothing listens on port 1
  rt.config = acceptProxyConfig(config('DISABLE'));
  const redirected = createInboundListener(rt, () => 1).server;
  await new Promise<void>((r) => redirected.listen(0, '127.0.0.1', r));
  try {
    const before = entries.length;
    await new Promise<void>((resolve) => {
      const c = net.connect((redirected.address() as net.AddressInfo).port, '127.0.0.1');
      c.on('error', () => undefined);
      c.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(entries.slice(before).map((e) => e.status), [503]);
  } finally {
    redirected.close();
    appPort = saved;
  }
});

/**
 * The only exit by address: with ALLOW_ANY, a captured connection that names no host (opaque TCP, TLS without SNI,
 * HTTP whose Host is no entry's) to an address of a gateway-only host is refused (`NR`, egress decision `denied`),
 * whether the address is the entry's own, the one the pod's DNS proxy answers for the host, or an endpoint's;
 * another address passes through. Every address is on loopback: a refused connection never leaves, and one that
 * passes reaches the echo server here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createCaptureListener } from '../capture/capture-listener.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { externalService, sidecarConfig } from '../sidecar-config.fixture.js';

const HOST = 'secure.example.test';
const ENTRY_CIDR = '127.0.9.0/24';
const DNS_ANSWER = '127.0.8.5';
const ENDPOINT = '127.0.7.7';
let echo: net.Server;
let echoPort = 0;

function config(): ProxyConfig {
  return sidecarConfig({
    version: 'gateway-only-address',
    workload: 'app',
    trafficPolicy: 'ALLOW_ANY',
    externals: [
      externalService('external/secure', [HOST], [{ port: 443, name: 'tls', protocol: 'tls', targetPort: 443 }], {
        addresses: [ENTRY_CIDR],
        dns: [{ host: HOST, address: DNS_ANSWER }],
        resolution: 'STATIC',
        endpoints: [{ address: ENDPOINT, ports: {} }],
      }),
    ],
    egressGatewayHosts: [HOST],
  });
}

type Speak = 'tcp' | 'tls-without-sni' | 'http-other-host';

function open(port: number, speak: Speak): net.Socket {
  if (speak === 'tls-without-sni') {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    s.on('error', () => undefined);
    return s;
  }
  const s = net.connect(port, '127.0.0.1', () => s.write(speak === 'tcp' ? 'ping\n' : 'GET / HTTP/1.1\r\nhost: other.example.test\r\nconnection: close\r\n\r\n'));
  return s;
}

/** What the app read back, and the access entries, for a connection captured as dialled to `address`:`port`. */
async function captured(address: string, port: number, speak: Speak): Promise<{ reply: string; entries: AccessLogEntry[] }> {
  const entries: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => entries.push(e) } });
  installConfig(rt, acceptProxyConfig(config()));
  const capture = createCaptureListener(rt, { lookup: () => ({ address, port }), firstBytesWaitMs: 200 });
  const listen = await listenOnLoopback(capture);
  try {
    const reply = await new Promise<string>((resolve) => {
      const s = open(listen, speak);
      let got = '';
      s.on('error', () => resolve(got));
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.endsWith('\n') && speak === 'tcp') {
          s.destroy();
          resolve(got);
        }
      });
      s.on('close', () => resolve(got));
    });
    return { reply, entries };
  } finally {
    capture.close();
  }
}

before(async () => {
  echo = net.createServer((s) => {
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => s.write(`echo ${d.toString()}`));
  });
  echoPort = await listenOnLoopback(echo);
});
after(() => echo.close());

const refused: Array<{ name: string; address: string; speak: Speak }> = [
  { name: "opaque TCP to an address in the entry's CIDR", address: '127.0.9.20', speak: 'tcp' },
  { name: 'opaque TCP to the address the DNS proxy answers for the host', address: DNS_ANSWER, speak: 'tcp' },
  { name: "TLS without SNI to the entry's endpoint", address: ENDPOINT, speak: 'tls-without-sni' },
  { name: 'HTTP with a Host that is no entry\'s, to the DNS answer', address: DNS_ANSWER, speak: 'http-other-host' },
];

for (const c of refused) {
  test(`refused by address: ${c.name}`, async () => {
    // The port of the echo server: a connection let through would reach it (loopback), and answer.
    const r = await captured(c.address, echoPort, c.speak);
    assert.doesNotMatch(r.reply, /^echo/);
    const e = r.entries.at(-1);
    assert.deepEqual([e?.egress?.decision, e?.responseFlags], ['denied', 'NR'], JSON.stringify(e));
    assert.equal(e?.reason, `egress denied: ${HOST} leaves the mesh only through the egress gateway`);
    if (c.speak === 'http-other-host') assert.match(r.reply, /^HTTP\/1\.1 502 /);
  });
}

test('an address no gateway-only host has passes through (ALLOW_ANY)', async () => {
  const r = await captured('127.0.0.1', echoPort, 'tcp');
  assert.equal(r.reply, 'echo ping\n');
});

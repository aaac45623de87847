/**
 * DestinationRule `proxyProtocol` and `tunnel` toward a ServiceEntry TCP host, for captured connections: the entry's
 * endpoint reads the PROXY header strictly (test/support/proxy-protocol-server.ts), or is an HTTP proxy that
 * answers the tunnel's CONNECT and carries the bytes to an echo.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { ExternalService, ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createCaptureListener } from './capture-listener.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { readProxyHeaders } from '../../../test/support/proxy-protocol-server.js';

const HOST = 'db.example';
const ENTRY_ADDRESS = '203.0.113.7';
const echo = readProxyHeaders(({ socket }) => socket.on('data', (d: Buffer) => socket.write(`echo ${d.toString('latin1')}`)));
const connects: string[] = [];
const tunnelProxy = http.createServer((_req, res) => res.writeHead(405).end());
tunnelProxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
  connects.push(req.url ?? '');
  client.on('error', () => undefined);
  const target = net.connect(echoPort, '127.0.0.1', () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    client.pipe(target);
    target.pipe(client);
  });
  target.on('error', () => client.destroy());
  client.on('close', () => target.destroy());
});
let echoPort = 0;
let tunnelPort = 0;

before(async () => {
  echoPort = await listenOnLoopback(echo.server);
  tunnelPort = await listenOnLoopback(tunnelProxy);
});
after(() => {
  for (const c of echo.received) c.socket.destroy();
  echo.server.close();
  tunnelProxy.closeAllConnections();
  tunnelProxy.close();
});

function config(targetPort: number, rule: Pick<ExternalService, 'proxyProtocol' | 'tunnels'>): ProxyConfig {
  return {
    schema: 3,
    version: 'external-transport',
    proxy: { role: 'sidecar', namespace: 'default', name: 'app', spiffeId: 'spiffe://example.org/ns/default/sa/app', labels: {} },
    trustDomain: 'example.org',
    inbound: null,
    outbound: {
      services: [],
      externals: [
        {
          source: 'default/db',
          namespace: 'default',
          hosts: [HOST],
          addresses: [ENTRY_ADDRESS],
          dns: [],
          ports: [{ port: 5432, name: 'tcp-db', protocol: 'tcp', targetPort }],
          location: 'MESH_EXTERNAL',
          resolution: 'STATIC',
          endpoints: [{ address: '127.0.0.1', ports: {} }],
          ...rule,
        },
      ],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

/** One captured connection to the entry's address: a line sent, the first answer read (or '' when closed). */
async function captured(cfg: ProxyConfig): Promise<{ reply: string; sourcePort: number; entries: AccessLogEntry[] }> {
  const entries: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => entries.push(e) } });
  installConfig(rt, acceptProxyConfig(cfg));
  const capture = createCaptureListener(rt, { lookup: () => ({ address: ENTRY_ADDRESS, port: 5432 }), firstBytesWaitMs: 200 });
  const port = await listenOnLoopback(capture);
  try {
    return await new Promise((resolve) => {
      let sourcePort = 0;
      const s = net.connect(port, '127.0.0.1', () => {
        sourcePort = s.localPort ?? 0;
        s.write('hi');
      });
      const done = (reply: string): void => {
        s.destroy();
        resolve({ reply, sourcePort, entries });
      };
      s.on('error', () => done(''));
      s.once('data', (d: Buffer) => done(d.toString('latin1')));
      s.on('close', () => done(''));
    });
  } finally {
    capture.close();
  }
}

test("proxyProtocol: the entry's endpoint reads the app's address and the entry address it dialled", async () => {
  const { reply, sourcePort } = await captured(config(echoPort, { proxyProtocol: [{ host: HOST, version: 'V2' }] }));
  assert.equal(reply, 'echo hi');
  assert.deepEqual(echo.received.at(-1)?.header, { version: 2, command: 'PROXY', family: 'TCP4', source: '127.0.0.1', sourcePort, destination: ENTRY_ADDRESS, destinationPort: 5432 });
  assert.deepEqual(echo.errors, []);
});

test('no rule: no header', async () => {
  assert.equal((await captured(config(echoPort, {}))).reply, 'echo hi');
  assert.equal(echo.received.at(-1)?.header, null);
});

test('tunnel: the connection goes through the entry\'s endpoint as CONNECT targetHost:targetPort', async () => {
  const { reply } = await captured(config(tunnelPort, { tunnels: [{ host: HOST, tunnel: { protocol: 'CONNECT', targetHost: 'db.internal.example', targetPort: 5432 } }] }));
  assert.equal(reply, 'echo hi');
  assert.equal(connects.at(-1), 'db.internal.example:5432');
});

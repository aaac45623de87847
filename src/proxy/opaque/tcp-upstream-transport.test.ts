/**
 * DestinationRule `proxyProtocol` and `tunnel` on opaque connections to a mesh service (captured and CONNECT):
 * the upstream echo reads the PROXY header strictly (test/support/proxy-protocol-server.ts); a real HTTP proxy on the
 * endpoint's port answers the tunnel's CONNECT or POST and carries the bytes to another echo.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { V1, V2, VIP, captured, capturedOnce, connectOnce, lastEntry, proxy, route, startEchoes, stopEchoes, v1, v2 } from './tcp-proxy.fixture.js';
import type { Proxy } from './tcp-proxy.fixture.js';

before(startEchoes);
after(stopEchoes);

const open: Proxy[] = [];
afterEach(() => {
  for (const p of open.splice(0)) p.close();
  assert.deepEqual([...v1.headerErrors, ...v2.headerErrors], [], 'every header the echoes read was well formed');
});
async function started(...args: Parameters<typeof proxy>): Promise<Proxy> {
  const p = await proxy(...args);
  open.push(p);
  return p;
}

describe('proxyProtocol: the PROXY header on every upstream connection', () => {
  for (const version of ['V1', 'V2'] as const) {
    test(`${version}: a captured connection's header names the app's address and the address it dialled`, async () => {
      const p = await started({ tcp: [route([['v1', 100]])], policy: { proxyProtocol: version } });
      const { reply, socket } = await captured(p);
      assert.equal(reply, 'one hi', 'the echo got the bytes after the header, and only them');
      assert.deepEqual(v1.headers.at(-1), {
        version: version === 'V1' ? 1 : 2,
        command: 'PROXY',
        family: 'TCP4',
        source: '127.0.0.1',
        sourcePort: socket.localPort,
        destination: VIP,
        destinationPort: 9000,
      });
      socket.destroy();
    });
  }

  test("a CONNECT client: the destination is the proxy's end of the client's connection", async () => {
    const p = await started({ tcp: [route([['v1', 100]])], policy: { proxyProtocol: 'V2' } });
    assert.equal(await connectOnce(p), 'one hi');
    const h = v1.headers.at(-1);
    assert.ok(h !== null && h !== undefined && h.command === 'PROXY');
    assert.equal(h.source, '127.0.0.1');
    assert.equal(h.destination, '127.0.0.1');
    assert.equal(h.destinationPort, p.outbound);
  });

  test("per subset: the subset's setting holds for its connections; a cluster without one sends no header", async () => {
    const subsets: Record<string, Partial<TrafficPolicyConfig>> = { v1: { proxyProtocol: 'V1' } };
    const toV1 = await started({ tcp: [route([['v1', 100]])], subsets });
    assert.equal(await capturedOnce(toV1), 'one hi');
    assert.equal(v1.headers.at(-1)?.version, 1);
    const toV2 = await started({ tcp: [route([['v2', 100]])], subsets });
    assert.equal(await capturedOnce(toV2), 'two hi');
    assert.equal(v2.headers.at(-1), null, 'no header without the setting');
  });
});

/** An HTTP proxy on the v1 endpoint's address: CONNECT and POST to `/`, each naming where to go in its authority. */
class TunnelProxy {
  readonly requests: Array<{ method: string; url: string; host: string | undefined }> = [];
  readonly server: http.Server;
  port = 0;
  /** Answer every tunnel request with this status instead (a refusal). */
  refuseWith: number | undefined;
  constructor(private readonly names: Record<string, string>) {
    this.server = http.createServer((req, res) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host });
      if (this.refuseWith !== undefined || req.method !== 'POST') {
        res.writeHead(this.refuseWith ?? 405).end();
        return;
      }
      const target = this.dial(req.headers.host ?? '', () => {
        res.writeHead(200);
        res.flushHeaders();
        req.pipe(target);
        target.pipe(res);
      });
      target.on('error', () => res.destroy());
      req.on('close', () => target.destroy());
    });
    this.server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host });
      client.on('error', () => undefined);
      if (this.refuseWith !== undefined) {
        client.end(`HTTP/1.1 ${this.refuseWith} Forbidden\r\ncontent-length: 0\r\n\r\n`);
        return;
      }
      const target = this.dial(req.url ?? '', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) target.write(head);
        client.pipe(target);
        target.pipe(client);
      });
      target.on('error', () => client.destroy());
      client.on('close', () => target.destroy());
    });
  }
  private dial(authority: string, ready: () => void): net.Socket {
    const at = authority.lastIndexOf(':');
    const host = authority.slice(0, at).replace(/^\[|\]$/g, '');
    return net.connect(Number(authority.slice(at + 1)), this.names[host] ?? host, ready);
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, V1, r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

describe('tunnel: opaque connections through an HTTP tunnel to targetHost:targetPort', () => {
  /** The tunnel proxy knows this name; the sidecar never resolves it (Envoy sends it as the authority). */
  const TARGET = 'tcp-echo-v2.example.test';
  let tunnelProxy: TunnelProxy;
  before(async () => {
    tunnelProxy = new TunnelProxy({ [TARGET]: V2 });
    await tunnelProxy.listen();
  });
  after(() => tunnelProxy.close());
  const tunnel = (protocol: 'CONNECT' | 'POST'): Partial<TrafficPolicyConfig> => ({ tunnel: { protocol, targetHost: TARGET, targetPort: v2.port } });

  for (const protocol of ['CONNECT', 'POST'] as const) {
    test(`${protocol}: the request names targetHost:targetPort and the bytes reach it through the endpoint`, async () => {
      tunnelProxy.refuseWith = undefined;
      const p = await started({ tcp: [route([['v1', 100]])], policy: tunnel(protocol), v1Port: tunnelProxy.port });
      const { reply, socket } = await captured(p);
      assert.equal(reply, 'two hi', 'the echo behind the tunnel answered');
      const authority = `${TARGET}:${v2.port}`;
      assert.deepEqual(tunnelProxy.requests.at(-1), { method: protocol, url: protocol === 'CONNECT' ? authority : '/', host: authority });
      // The tunnel carries more than the first chunk, both ways.
      socket.write('again');
      const next = await new Promise<string>((r) => socket.once('data', (d: Buffer) => r(d.toString('latin1'))));
      assert.equal(next, 'two again');
      socket.destroy();
    });
  }

  for (const protocol of ['CONNECT', 'POST'] as const) {
    test(`${protocol} refused (403): the client's connection is closed, nothing sent, flagged UF`, async () => {
      tunnelProxy.refuseWith = 403;
      const p = await started({ tcp: [route([['v1', 100]])], policy: tunnel(protocol), v1Port: tunnelProxy.port });
      assert.equal(await capturedOnce(p), '');
      assert.equal(lastEntry(p)?.responseFlags, 'UF');
      assert.match(lastEntry(p)?.reason ?? '', /refused: 403/);
      tunnelProxy.refuseWith = undefined;
    });
  }

  test('a CONNECT client in http_proxy mode is tunnelled the same way', async () => {
    const p = await started({ tcp: [route([['v1', 100]])], policy: tunnel('CONNECT'), v1Port: tunnelProxy.port });
    assert.equal(await connectOnce(p), 'two hi');
  });

  test('an IPv6 targetHost goes in brackets (JoinHostPort)', async () => {
    const p = await started({ tcp: [route([['v1', 100]])], policy: { tunnel: { protocol: 'CONNECT', targetHost: '::1', targetPort: 1 } }, v1Port: tunnelProxy.port });
    // The proxy cannot reach [::1]:1 and drops the client; what matters is what the sidecar asked for.
    await capturedOnce(p);
    assert.deepEqual(tunnelProxy.requests.at(-1), { method: 'CONNECT', url: '[::1]:1', host: '[::1]:1' });
  });
});

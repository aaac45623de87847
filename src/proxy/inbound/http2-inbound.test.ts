import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createInboundListener } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';

/**
 * The app: gRPC-shaped over h2c. /echo.Echo/Say echoes the body with grpc-status 0 in trailers and reports the
 * headers it saw; /echo.Echo/Reset resets the stream; /plain answers plain HTTP/2. Counts its sessions.
 */
let appSessions = 0;
const seen: http2.IncomingHttpHeaders[] = [];
const app = http2.createServer();
app.on('session', () => appSessions++);
app.on('stream', (stream, headers) => {
  stream.on('error', () => undefined);
  seen.push(headers);
  if (headers[':path'] === '/echo.Echo/Reset') {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (headers[':path'] === '/plain') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('plain answer');
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-app-trailer': 'yes' }));
  stream.pipe(stream);
});
let appPort = 0;
let listener: net.Server;
let listenerPort = 0;
const entries: AccessLogEntry[] = [];

type Policy = ProxyConfig['security']['authorizationPolicies'][number];

function config(mode: 'PERMISSIVE' | 'STRICT', policies: Policy[] = [], port = appPort): ProxyConfig {
  return {
    schema: 3,
    version: `${mode}-${policies.length}-${port}`,
    proxy: { role: 'sidecar', namespace: 'default', name: 'grpc-echo', spiffeId: 'spiffe://example.org/ns/default/sa/grpc-echo', labels: { app: 'grpc-echo' } },
    trustDomain: 'example.org',
    inbound: { defaultMode: mode, ports: [{ port, name: 'grpc', protocol: 'grpc', mode }], servicePorts: [] },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: policies, jwtRules: [], extensionProviders: [] },
  };
}

const allowOnly = (path: string): Policy => ({
  namespace: 'default',
  name: 'only-other',
  annotations: {},
  spec: { action: 'ALLOW', rules: [{ to: [{ operation: { paths: [path] } }] }] },
});

const denySay: Policy = {
  namespace: 'default',
  name: 'deny-say',
  annotations: {},
  spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/echo.Echo/Say'] } }] }] },
};

const rt: ProxyRuntime = testRuntime({
  // No certificate: these callers are plaintext h2c on a PERMISSIVE port.
  telemetry: { record: (e) => void entries.push(e) },
});

interface Answer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function call(session: http2.ClientHttp2Session, path: string, body: Buffer | string, extra: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    const out: Answer = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    req.on('response', (h) => (out.headers = h));
    req.on('trailers', (t) => (out.trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => {
      out.body = Buffer.concat(chunks);
      resolve(out);
    });
    req.end(body);
  });
}

/** One gRPC message (5-byte prefix, payload): the inbound sidecar reads the prefixes of a gRPC call's body. */
function grpcMessage(payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(p.length, 1);
  return Buffer.concat([prefix, p]);
}

function connect(): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${listenerPort}`);
  s.on('error', () => undefined);
  return s;
}

async function settled(): Promise<void> {
  await new Promise((r) => setTimeout(r, 30));
}

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

describe('inbound HTTP/2 on a grpc port (plaintext h2c, PERMISSIVE)', () => {
  test('a gRPC call reaches the app with its body, and trailers come back; a forged XFCC is dropped', async () => {
    rt.config = acceptProxyConfig(config('PERMISSIVE'));
    const s = connect();
    try {
      const a = await call(s, '/echo.Echo/Say', grpcMessage('hello'), { 'x-forwarded-client-cert': 'By=forged', connection: undefined });
      assert.equal(a.headers[':status'], 200);
      assert.ok(a.body.equals(grpcMessage('hello')));
      assert.equal(a.trailers['grpc-status'], '0');
      assert.equal(a.trailers['x-app-trailer'], 'yes');
      const got = seen.at(-1)!;
      assert.equal(got[':path'], '/echo.Echo/Say');
      assert.equal(got['te'], 'trailers');
      assert.equal(got['x-forwarded-client-cert'], undefined);
      await settled();
      const e = entries.at(-1)!;
      assert.deepEqual([e.direction, e.method, e.path, e.status, e.peer, e.reason], ['inbound', 'POST', '/echo.Echo/Say', 200, undefined, undefined]);
    } finally {
      s.close();
    }
  });

  test('streams of one caller session share one app session; bodies stream with backpressure', async () => {
    rt.config = acceptProxyConfig(config('PERMISSIVE'));
    const before = appSessions;
    const s = connect();
    try {
      // One message of gRPC's largest default size (4 MiB of payload).
      const big = grpcMessage(Buffer.alloc(4 * 1024 * 1024, 7));
      const answers = await Promise.all([call(s, '/echo.Echo/Say', big), call(s, '/echo.Echo/Say', 'a'), call(s, '/echo.Echo/Say', 'b')]);
      assert.equal(answers[0]!.body.length, big.length);
      assert.ok(answers[0]!.body.equals(big));
      assert.deepEqual(answers.slice(1).map((a) => a.body.toString()), ['a', 'b']);
      assert.equal(appSessions - before, 1);
    } finally {
      s.close();
    }
  });

  test('the path is normalised before the app and policy see it', async () => {
    rt.config = acceptProxyConfig(config('PERMISSIVE'));
    const s = connect();
    try {
      await call(s, '/echo.Echo/../echo.Echo/Say', 'x');
      assert.equal(seen.at(-1)![':path'], '/echo.Echo/Say');
    } finally {
      s.close();
    }
  });

  const denials: Array<{ name: string; headers: http2.OutgoingHttpHeaders; status: number; grpc: string | undefined; body: string }> = [
    { name: 'a gRPC caller gets 200 with grpc-status 7', headers: {}, status: 200, grpc: '7', body: '' },
    { name: 'a gRPC subtype (application/grpc+proto) is gRPC too', headers: { 'content-type': 'application/grpc+proto' }, status: 200, grpc: '7', body: '' },
    { name: 'any other caller gets 403 and the reason', headers: { 'content-type': 'text/plain' }, status: 403, grpc: undefined, body: 'RBAC: access denied\n' },
  ];
  for (const d of denials) {
    test(`AuthorizationPolicy denial: ${d.name}; the log names the policy`, async () => {
      rt.config = acceptProxyConfig(config('PERMISSIVE', [denySay]));
      const before = seen.length;
      const s = connect();
      try {
        const a = await call(s, '/echo.Echo/Say', 'hi', d.headers);
        assert.equal(a.headers[':status'], d.status);
        assert.equal(a.trailers['grpc-status'], d.grpc);
        if (d.grpc !== undefined) {
          assert.equal(a.headers['content-type'], 'application/grpc');
          assert.equal(a.trailers['grpc-message'], 'RBAC: access denied');
        }
        assert.equal(a.body.toString(), d.body);
        assert.equal(seen.length, before, 'the app never saw the request');
        await settled();
        const e = entries.at(-1)!;
        assert.equal(e.status, 403);
        assert.deepEqual(e.authz, { decision: 'DENY', policy: 'default/deny-say', rule: 0 });
      } finally {
        s.close();
      }
    });
  }

  test('an ALLOW policy that matches no rule denies with PERMISSION_DENIED', async () => {
    rt.config = acceptProxyConfig(config('PERMISSIVE', [allowOnly('/echo.Echo/Other')]));
    const s = connect();
    try {
      const a = await call(s, '/echo.Echo/Say', 'hi');
      assert.equal(a.trailers['grpc-status'], '7');
      await settled();
      assert.deepEqual([entries.at(-1)!.status, entries.at(-1)!.authz?.decision], [403, 'DENY']);
    } finally {
      s.close();
    }
  });

  test('the allowed path passes the same policy', async () => {
    rt.config = acceptProxyConfig(config('PERMISSIVE', [allowOnly('/echo.Echo/Say')]));
    const s = connect();
    try {
      const a = await call(s, '/echo.Echo/Say', 'ok');
      assert.equal(a.trailers['grpc-status'], '0');
      assert.equal(a.body.toString(), 'ok');
    } finally {
      s.close();
    }
  });

  test('an app that resets the stream is UNAVAILABLE (14), logged as 503', async () => {
    rt.config = acceptProxyConfig(config('PERMISSIVE'));
    const s = connect();
    try {
      const a = await call(s, '/echo.Echo/Reset', 'x');
      assert.equal(a.headers[':status'], 200);
      assert.equal(a.trailers['grpc-status'], '14');
      await settled();
      assert.equal(entries.at(-1)!.status, 503);
    } finally {
      s.close();
    }
  });

  test('an app that is not listening: 503 for plain HTTP/2, and the proxy keeps serving', async () => {
    const closed = net.createServer();
    const deadPort = await listenOnLoopback(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    rt.config = acceptProxyConfig(config('PERMISSIVE', [], deadPort));
    const redirected = createInboundListener(rt, () => deadPort).server;
    await new Promise<void>((r) => redirected.listen(0, '127.0.0.1', r));
    const s = http2.connect(`http://127.0.0.1:${(redirected.address() as net.AddressInfo).port}`);
    s.on('error', () => undefined);
    try {
      const a = await call(s, '/plain', '', { 'content-type': 'text/plain' });
      assert.equal(a.headers[':status'], 503);
    } finally {
      s.close();
      redirected.close();
    }
  });

  test('an oversized header list is refused without harming the proxy', async () => {
    rt.config = acceptProxyConfig(config('PERMISSIVE'));
    const hostile = connect();
    const huge: http2.OutgoingHttpHeaders = {};
    for (let i = 0; i < 40; i++) huge[`x-h${i}`] = 'v'.repeat(4000);
    const before = seen.length;
    await call(hostile, '/echo.Echo/Say', 'x', huge).catch(() => undefined);
    hostile.destroy();
    assert.equal(seen.length, before, 'the app never saw it');
    const s = connect();
    try {
      const a = await call(s, '/echo.Echo/Say', grpcMessage('still here'));
      assert.ok(a.body.equals(grpcMessage('still here')));
    } finally {
      s.close();
    }
  });

  test('STRICT refuses plaintext h2c: the connection is closed before any stream', async () => {
    rt.config = acceptProxyConfig(config('STRICT'));
    const before = seen.length;
    const s = connect();
    const outcome = await call(s, '/echo.Echo/Say', 'x').then(
      (a) => a.headers[':status'],
      (err: Error) => err.message,
    );
    s.destroy();
    assert.notEqual(outcome, 200);
    assert.equal(seen.length, before);
  });
});

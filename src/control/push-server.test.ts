/**
 * The push loop against a proxy that reads slowly: a fake stream whose buffer fills after one write and drains only
 * when the test says so. A blocked stream holds at most the newest config; the line on the wire is the config's JSON.
 * Then what the sweep closes (silent streams, lines that make no progress) and what a stream refuses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import type { Resource } from '../config/resource.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import { buildSnapshot } from './compile/snapshot.js';
import type { MeshSnapshot } from './compile/snapshot.js';
import { compileProxyConfig } from './compile/index.js';
import { PushServer } from './push-server.js';
import type { PushServerDeps } from './push-server.js';

const BOOT = { ...meshConfigWithDefaults({ trustDomain: 'example.org' }), rootNamespace: 'weft-system' };
const meta = (name: string, labels: Record<string, string> = {}): Resource['metadata'] => ({ namespace: 'default', name, labels, annotations: {} }) as Resource['metadata'];
const workload: Resource = {
  apiVersion: 'weft.dev/v1alpha1',
  kind: 'Workload',
  metadata: meta('web', { app: 'web' }),
  spec: { serviceAccount: 'web', command: ['app'], env: {}, ports: [{ containerPort: 8080, protocol: 'TCP' }] },
  status: { phase: 'Running', podIP: '10.0.0.1' },
};
const serviceWithPorts = (ports: number[]): Resource => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: meta('web'),
  spec: { selector: { app: 'web' }, ports: ports.map((port) => ({ port, targetPort: 8080, protocol: 'TCP' })) },
});
const snapshotWith = (ports: number[], revision: number): MeshSnapshot => buildSnapshot([workload, serviceWithPorts(ports)], revision, BOOT);

/** A push stream whose buffer is full after one write, until `release()`; what the proxy says is emitted as data. */
class SlowStream extends Duplex {
  lines = '';
  #held: Array<() => void> = [];
  constructor() {
    super({ writableHighWaterMark: 1, decodeStrings: true });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines += chunk.toString('utf8');
    this.#held.push(done);
  }
  /** The push server corks a config line, so it arrives here as one group. */
  override _writev(chunks: Array<{ chunk: Buffer }>, done: () => void): void {
    for (const c of chunks) this.lines += c.chunk.toString('utf8');
    this.#held.push(done);
  }
  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const done of held) done();
  }
  configs(): Array<{ version: string; outbound: { services: Array<{ ports: unknown[] }> } }> {
    return this.lines
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; config: never })
      .filter((m) => m.type === 'config')
      .map((m) => m.config);
  }
}

const HELLO = { type: 'hello', node: { role: 'sidecar', namespace: 'default', name: 'web', podIP: '10.0.0.1' }, certNotAfter: '2030-01-01T00:00:00Z' };

function connect(server: PushServer, stream: SlowStream, accepts?: string[]): (msg: unknown) => void {
  server.accept(stream, 'spiffe://example.org/ns/default/sa/web');
  const say = (msg: unknown): void => void stream.emit('data', Buffer.from(`${JSON.stringify(msg)}\n`));
  say({ ...HELLO, accepts });
  return say;
}

/** Every line on the stream, parsed. */
function messages(stream: SlowStream): Array<{ type: string; base?: string; version?: string; config?: { version: string } }> {
  return stream.lines
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string });
}

function pushServer(snapshot: () => MeshSnapshot, maxConfigsInFlight?: number): PushServer {
  const log = { info: () => undefined, warn: () => undefined } as unknown as PushServerDeps['log'];
  const deps: PushServerDeps = { ca: {} as PushServerDeps['ca'], tokens: {} as PushServerDeps['tokens'], snapshot, certificateTtlMs: () => 0, log, onJwksRefresh: () => undefined };
  return new PushServer(maxConfigsInFlight === undefined ? deps : { ...deps, maxConfigsInFlight });
}

describe('push stream backpressure', () => {
  test('the line on the wire is the compiled config, as JSON', () => {
    const snap = snapshotWith([80], 1);
    const stream = new SlowStream();
    connect(pushServer(() => snap), stream);
    const want = compileProxyConfig(snap, { role: 'sidecar', namespace: 'default', name: 'web', serviceAccount: 'web' });
    assert.deepEqual(stream.configs(), [want]);
    assert.ok(stream.lines.endsWith('}\n'));
  });

  test('while the stream is full, only the newest config waits, and it is sent on drain', async () => {
    let snap = snapshotWith([80], 1);
    const server = pushServer(() => snap);
    const stream = new SlowStream();
    connect(server, stream);
    assert.equal(stream.configs().length, 1);
    for (const [i, ports] of [[80, 81], [80, 82], [80, 83]].entries()) {
      snap = snapshotWith(ports, i + 2);
      server.pushAll();
    }
    assert.equal(stream.configs().length, 1, 'nothing more is written while the stream is full');
    assert.equal(server.proxies()[0]?.sentVersion, stream.configs()[0]?.version);
    stream.release();
    await new Promise((r) => setImmediate(r));
    const sent = stream.configs();
    assert.equal(sent.length, 2, 'the two configs in between were never sent');
    assert.deepEqual(sent[1]?.outbound.services[0]?.ports.map((p) => (p as { port: number }).port), [80, 83]);
    assert.equal(server.proxies()[0]?.sentVersion, sent[1]?.version);
  });

  test('a change undone while blocked sends nothing more', async () => {
    let snap = snapshotWith([80], 1);
    const server = pushServer(() => snap);
    const stream = new SlowStream();
    connect(server, stream);
    snap = snapshotWith([80, 81], 2);
    server.pushAll();
    snap = snapshotWith([80], 3);
    server.pushAll();
    stream.release();
    await new Promise((r) => setImmediate(r));
    assert.equal(stream.configs().length, 1);
  });

  test('streams still sending hold the send slots; the next proxy waits its turn, and a closed stream frees its slot', async () => {
    const snap = snapshotWith([80], 1);
    const server = pushServer(() => snap, 1);
    const [a, b, c] = [new SlowStream(), new SlowStream(), new SlowStream()];
    connect(server, a);
    connect(server, b);
    connect(server, c);
    assert.deepEqual([a, b, c].map((s) => s.configs().length), [1, 0, 0]);
    a.release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([a, b, c].map((s) => s.configs().length), [1, 1, 0]);
    b.destroy();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([a, b, c].map((s) => s.configs().length), [1, 1, 1]);
  });
});

describe('push stream deltas', () => {
  const drained = async (stream: SlowStream): Promise<void> => {
    stream.release();
    await new Promise((r) => setImmediate(r));
  };

  test('a proxy that accepts deltas gets its first config whole, then what changed against the last one sent', async () => {
    let snap = snapshotWith([80], 1);
    const server = pushServer(() => snap);
    const stream = new SlowStream();
    connect(server, stream, ['config-delta']);
    await drained(stream);
    const v1 = compileProxyConfig(snap, { role: 'sidecar', namespace: 'default', name: 'web', serviceAccount: 'web' }).version;
    snap = snapshotWith([80, 81], 2);
    server.pushAll();
    await drained(stream);
    const v2 = compileProxyConfig(snap, { role: 'sidecar', namespace: 'default', name: 'web', serviceAccount: 'web' }).version;
    const sent = messages(stream);
    assert.deepEqual(sent.map((m) => m.type), ['config', 'config-delta']);
    assert.deepEqual([sent[1]?.base, sent[1]?.version], [v1, v2]);
    assert.equal(server.proxies()[0]?.sentVersion, v2);
  });

  test('a proxy that does not name config-delta in its hello gets full configs only', async () => {
    let snap = snapshotWith([80], 1);
    const server = pushServer(() => snap);
    const stream = new SlowStream();
    connect(server, stream);
    await drained(stream);
    snap = snapshotWith([80, 81], 2);
    server.pushAll();
    await drained(stream);
    assert.deepEqual(messages(stream).map((m) => m.type), ['config', 'config']);
  });

  test('after a NACK the next delta is against the version last ACKed; a resync request is answered whole', async () => {
    let snap = snapshotWith([80], 1);
    const server = pushServer(() => snap);
    const stream = new SlowStream();
    const say = connect(server, stream, ['config-delta']);
    await drained(stream);
    const v1 = messages(stream)[0]?.config?.version;
    say({ type: 'ack', version: v1 });
    snap = snapshotWith([80, 81], 2);
    server.pushAll();
    await drained(stream);
    const v2 = messages(stream)[1]?.version;
    say({ type: 'nack', version: v2, reason: 'no' });
    snap = snapshotWith([80, 82], 3);
    server.pushAll();
    await drained(stream);
    const third = messages(stream)[2];
    assert.equal(third?.type, 'config-delta');
    assert.equal(third?.base, v1, 'the rejected version is not a base');
    say({ type: 'resync', have: 'elsewhere', reason: 'test' });
    await drained(stream);
    const fourth = messages(stream)[3];
    assert.equal(fourth?.type, 'config');
    assert.equal(fourth?.config?.version, third?.version, 'the same version, whole');
  });
});

describe('push stream liveness and refusals', () => {
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

  test('a ping is answered with a pong, after the line being written', async () => {
    const snap = snapshotWith([80], 1);
    const stream = new SlowStream();
    const say = connect(pushServer(() => snap), stream);
    say({ type: 'ping' });
    stream.release();
    await tick();
    stream.release();
    await tick();
    assert.deepEqual(messages(stream).map((m) => m.type), ['config', 'pong']);
  });

  test('a stream silent for three whole sweep intervals is closed and its proxy shown disconnected; one that pings stays', async () => {
    const snap = snapshotWith([80], 1);
    const server = pushServer(() => snap);
    const [silent, talking] = [new SlowStream(), new SlowStream()];
    connect(server, silent);
    silent.release();
    const say = connect(server, talking);
    talking.release();
    for (let i = 0; i < 4; i++) {
      say({ type: 'ping' });
      talking.release();
      server.sweep();
    }
    await tick();
    assert.equal(silent.destroyed, true);
    assert.equal(talking.destroyed, false);
    server.closeAll();
  });

  test('a proxy that pings but never reads is closed once its line made no progress for three whole sweep intervals, and its send slot is freed', async () => {
    const snap = snapshotWith([80], 1);
    const server = pushServer(() => snap, 1);
    const [stuck, next] = [new SlowStream(), new SlowStream()];
    const say = connect(server, stuck);
    const sayNext = connect(server, next);
    assert.deepEqual([stuck, next].map((s) => s.configs().length), [1, 0]);
    for (let i = 0; i < 4; i++) {
      say({ type: 'ping' });
      sayNext({ type: 'ping' });
      next.release();
      server.sweep();
    }
    await tick();
    assert.equal(stuck.destroyed, true);
    assert.equal(next.configs().length, 1, 'the next proxy got the slot');
    assert.equal(next.destroyed, false);
    server.closeAll();
  });

  const refusedWith = async (lines: Array<string | Buffer>, peer = 'spiffe://example.org/ns/default/sa/web'): Promise<SlowStream> => {
    const server = pushServer(() => snapshotWith([80], 1));
    const stream = new SlowStream();
    server.accept(stream, peer);
    for (const l of lines) stream.emit('data', typeof l === 'string' ? Buffer.from(l) : l);
    await tick();
    server.closeAll();
    return stream;
  };

  test('garbage, a second hello and a line that is not UTF-8 close the stream', async () => {
    assert.equal((await refusedWith(['not json\n'])).destroyed, true);
    assert.equal((await refusedWith([`${JSON.stringify(HELLO)}\n${JSON.stringify(HELLO)}\n`])).destroyed, true);
    assert.equal((await refusedWith([Buffer.from([0xff, 0xfe, 0x0a])])).destroyed, true);
    assert.equal((await refusedWith(['null\n'])).destroyed, true);
  });

  test('a line longer than the bound is refused before its end arrives', async () => {
    const server = pushServer(() => snapshotWith([80], 1));
    const stream = new SlowStream();
    server.accept(stream, 'spiffe://example.org/ns/default/sa/web');
    const piece = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 16 && !stream.destroyed; i++) stream.emit('data', piece);
    assert.equal(stream.destroyed, false, 'exactly the bound is still a line');
    stream.emit('data', Buffer.from('a'));
    assert.equal(stream.destroyed, true);
    server.closeAll();
  });

  test('no mesh certificate, or one for another namespace than the hello names: refused with why, no proxy recorded', async () => {
    const server = pushServer(() => snapshotWith([80], 1));
    const anonymous = new SlowStream();
    server.accept(anonymous, undefined);
    assert.match(messages(anonymous)[0]?.type ?? '', /^error$/);
    assert.match(anonymous.lines, /needs mTLS/);
    const other = new SlowStream();
    server.accept(other, 'spiffe://example.org/ns/other/sa/web');
    other.emit('data', Buffer.from(`${JSON.stringify(HELLO)}\n`));
    assert.match(other.lines, /namespace other, not default/);
    assert.deepEqual(server.proxies(), []);
    server.sweep();
    assert.equal(anonymous.destroyed && other.destroyed, true, 'the sweep destroys refused streams');
  });
});

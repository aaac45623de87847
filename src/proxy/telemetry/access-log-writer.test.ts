/**
 * The access log as MeshConfig asks for it: JSON lines with every field by default, Envoy's default text format
 * with `accessLogEncoding: TEXT`, a custom format; and a writer that falls behind drops and counts, never grows.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { AccessLogWriter } from './access-log-writer.js';
import type { AccessLogEntry } from './access-log.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-access-log-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const entry: AccessLogEntry = {
  direction: 'outbound',
  method: 'GET',
  authority: 'ratings:9080',
  path: '/ratings/0',
  status: 200,
  durationMs: 7.2,
  upstream: 'default/ratings-v1',
  destinationService: 'ratings.default.svc.cluster.local',
  requestId: 'a-request-id',
  userAgent: 'node',
  requestBytes: 0,
  responseBytes: 48,
  upstreamHost: '198.18.0.9:15006',
  upstreamCluster: 'outbound|9080||ratings.default.svc.cluster.local',
  responseFlags: 'URX',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  authz: { decision: 'ALLOW', policy: 'default/ratings-viewer', rule: 0 },
};

function configWith(encoding: 'TEXT' | 'JSON', format = ''): ProxyConfig {
  return { telemetry: { clusterId: 'Kubernetes', workloads: [], accessLog: { encoding, format } } } as unknown as ProxyConfig;
}

/** Lines written to `file`, once `n` have arrived (the writer flushes on its own timer). */
async function linesOf(file: string, n: number): Promise<string[]> {
  for (;;) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    if (lines.length >= n) return lines;
    await new Promise((r) => setImmediate(r));
  }
}

function writerTo(name: string, cfg: ProxyConfig | undefined, onDropped?: (n: number) => void): { file: string; writer: AccessLogWriter } {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  return { file, writer: new AccessLogWriter(fd, () => cfg, onDropped) };
}

test('JSON by default: the time, and every field of the entry', async () => {
  const { file, writer } = writerTo('json', undefined);
  writer.write(entry);
  const [line] = await linesOf(file, 1);
  const got = JSON.parse(line!) as Record<string, unknown>;
  assert.equal(got['msg'], 'access');
  assert.match(String(got['time']), /^\d{4}-\d\d-\d\dT/);
  for (const k of ['requestId', 'traceId', 'upstreamHost', 'upstreamCluster', 'requestBytes', 'responseBytes', 'userAgent', 'durationMs', 'responseFlags', 'authz'] as const) {
    assert.deepEqual(got[k], entry[k], k);
  }
});

test("accessLogEncoding TEXT: Envoy's default format", async () => {
  const { file, writer } = writerTo('text', configWith('TEXT'));
  writer.write(entry);
  const [line] = await linesOf(file, 1);
  assert.match(line!, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "GET \/ratings\/0 HTTP\/1\.1" 200 URX 0 48 7 - "-" "node" "a-request-id" "ratings:9080" "198\.18\.0\.9:15006"$/);
});

test('accessLogFormat: a custom text format, ended with a newline; a JSON one', async () => {
  const text = writerTo('custom', configWith('TEXT', '%RESPONSE_CODE% %UPSTREAM_CLUSTER% %TRACE_ID%'));
  text.writer.write(entry);
  assert.deepEqual(await linesOf(text.file, 1), ['200 outbound|9080||ratings.default.svc.cluster.local 0af7651916cd43dd8448eb211c80319c']);
  const json = writerTo('custom-json', configWith('JSON', '{"status":"%RESPONSE_CODE%","id":"%REQ(X-REQUEST-ID)%"}'));
  json.writer.write(entry);
  assert.deepEqual((await linesOf(json.file, 1)).map((l) => JSON.parse(l) as unknown), [{ status: 200, id: 'a-request-id' }]);
});

test('a burst beyond the queue is dropped and counted, not buffered without bound', async () => {
  let dropped = 0;
  const done = new Promise<void>((resolve) => {
    const { writer } = writerTo('burst', undefined, (n) => {
      dropped += n;
      resolve();
    });
    // Synchronously, so no write completes in between: the first flush is under way, the rest queue up to the bound.
    for (let i = 0; i < 25_000; i++) writer.write(entry);
  });
  // The writer's timers never hold a process open; this test has nothing else that does.
  const hold = setInterval(() => undefined, 1000);
  await done.finally(() => clearInterval(hold));
  assert.ok(dropped > 0 && dropped < 25_000, String(dropped));
});

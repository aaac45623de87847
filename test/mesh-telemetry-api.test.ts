/**
 * The Telemetry API on a running mesh: a Telemetry applied while traffic flows changes what the proxies report
 * without a restart (a tag removed and one upserted on istio_requests_total, REQUEST_DURATION disabled, the access
 * log filtered to errors), and one that names an unknown provider is refused at apply, naming the field.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client, request } from 'undici';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { parsePromText } from './support/prom-text.js';
import type { Sample } from './support/prom-text.js';

let mesh: MeshRun;
before(async () => {
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
});
after(async () => {
  const dir = mesh?.stateDir;
  await mesh?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function scrape(workload: string): Promise<Sample[]> {
  const res = await request(`http://${mesh.workload(workload).podIP}:15020/stats/prometheus`);
  assert.equal(res.statusCode, 200);
  return parsePromText(await res.body.text());
}

const get = async (p: string): Promise<number> => (await callAs(mesh.workload('sleep'), `http://httpbin:8000${p}`)).status;

interface Line {
  direction?: string;
  status?: number;
  path?: string;
}
function inboundLines(): Line[] {
  return fs
    .readFileSync(path.join(mesh.stateDir, 'logs', 'default.httpbin.sidecar.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.direction === 'inbound');
}

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: httpbin-telemetry, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  metrics:
  - providers: [{ name: prometheus }]
    overrides:
    - match: { metric: REQUEST_COUNT, mode: SERVER }
      tagOverrides:
        grpc_response_status: { operation: REMOVE }
        outcome: { value: "response.code >= 400 ? 'error' : 'ok'" }
    - match: { metric: REQUEST_DURATION }
      disabled: true
  accessLogging:
  - providers: [{ name: envoy }]
    filter: { expression: "response.code >= 400" }
`;

test('a Telemetry applied to a running mesh takes effect without a restart', async () => {
  assert.equal(await get('/get?before=1'), 200);
  const before = await eventually('httpbin counts the request with Istio labels', async () => {
    const s = (await scrape('httpbin')).filter((x) => x.name === 'istio_requests_total' && x.labels['reporter'] === 'destination');
    return s.length > 0 ? s : undefined;
  });
  assert.ok(before.every((s) => 'grpc_response_status' in s.labels && !('outcome' in s.labels)));
  await eventually('the request is logged', () => (inboundLines().some((l) => l.path === '/get?before=1') ? true : undefined));

  const applied = await mesh.weft(['apply', '-f', '-'], TELEMETRY);
  assert.equal(applied.code, 0, applied.stderr);

  // The push reaches the proxy on its own: requests made after it carry the new labels.
  const after = await eventually('the new series appear', async () => {
    assert.equal(await get('/status/418'), 418);
    assert.equal(await get('/get?after=1'), 200);
    const s = (await scrape('httpbin')).filter((x) => x.name === 'istio_requests_total' && x.labels['reporter'] === 'destination' && 'outcome' in x.labels);
    return s.some((x) => x.labels['outcome'] === 'error') && s.some((x) => x.labels['outcome'] === 'ok') ? s : undefined;
  });
  for (const s of after) {
    assert.equal('grpc_response_status' in s.labels, false);
    assert.equal(s.labels['outcome'], s.labels['response_code'] === '418' ? 'error' : 'ok');
  }
  // REQUEST_DURATION disabled: no histogram series without grpc_response_status ever appeared (the old ones stay).
  const durations = (await scrape('httpbin')).filter((x) => x.name === 'istio_request_duration_milliseconds_count' && x.labels['reporter'] === 'destination');
  const durationCount = durations.reduce((n, x) => n + x.value, 0);
  assert.equal(await get('/get?more=1'), 200);
  assert.equal(await get('/status/419'), 419);
  // Lines are written in order: once the 419 (after the 200) is there, the 200 would be too.
  await eventually('the access log has the 419', () => (inboundLines().some((l) => l.status === 419) ? true : undefined));
  const again = (await scrape('httpbin')).filter((x) => x.name === 'istio_request_duration_milliseconds_count' && x.labels['reporter'] === 'destination');
  assert.equal(again.reduce((n, x) => n + x.value, 0), durationCount, 'no duration observed once REQUEST_DURATION is disabled');
  // Only errors are logged now: the 419, not the 200 before it.
  const lines = inboundLines();
  assert.equal(lines.some((l) => l.path === '/get?more=1'), false, JSON.stringify(lines.slice(-5)));
});

test('a Telemetry naming an unknown provider is refused at apply, naming the field', async () => {
  const r = await mesh.weft(['apply', '-f', '-'], TELEMETRY.replace('name: httpbin-telemetry', 'name: bad').replace('{ name: envoy }', '{ name: nope }'));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /\[WEFT0120\] spec\.accessLogging\[0\]\.providers\[0\]\.name: unknown provider "nope"/);
});

/** The sum of a histogram's `_sum` over every series of one reporter. */
async function bytesSum(workload: string, metric: 'istio_request_bytes' | 'istio_response_bytes', reporter: 'source' | 'destination'): Promise<number> {
  return (await scrape(workload)).filter((x) => x.name === `${metric}_sum` && x.labels['reporter'] === reporter).reduce((n, x) => n + x.value, 0);
}

async function sums(): Promise<number[]> {
  return [
    await bytesSum('sleep', 'istio_request_bytes', 'source'),
    await bytesSum('httpbin', 'istio_request_bytes', 'destination'),
    await bytesSum('sleep', 'istio_response_bytes', 'source'),
    await bytesSum('httpbin', 'istio_response_bytes', 'destination'),
  ];
}

test('request and response bytes are the bytes that went through: a chunked request, an HTTP/2 stream, at both reporters', async () => {
  const chunks = ['a'.repeat(1000), 'b'.repeat(2345), 'c'.repeat(7)];
  const sent = chunks.reduce((n, c) => n + c.length, 0);

  // HTTP/1.1, chunked (no Content-Length): the declared length would be 0.
  const start = await sums();
  const sleep = mesh.workload('sleep');
  const client = new Client(`http://${sleep.outbound}`);
  // A stream body: undici sends it chunked. Absolute-form, as an app's request to its sidecar is.
  const res = await client.request({ method: 'POST', path: 'http://httpbin:8000/anything', headers: { host: 'httpbin:8000', 'content-type': 'text/plain' }, body: Readable.from(chunks.map((c) => Buffer.from(c))) });
  assert.equal(res.statusCode, 200);
  const received = Buffer.byteLength(await res.body.text());
  await client.close();
  const afterChunked = await eventually('both reporters count the chunked request', async () => {
    const s = await sums();
    return s[0]! - start[0]! === sent && s[1]! - start[1]! === sent ? s : undefined;
  });
  assert.deepEqual(afterChunked.map((v, i) => v - start[i]!), [sent, sent, received, received]);

  // HTTP/2 (h2c to the sidecar's outbound listener), a body in DATA frames without a length.
  const { default: http2 } = await import('node:http2');
  const session = http2.connect(`http://${sleep.outbound}`);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/anything', ':authority': 'httpbin:8000', 'content-type': 'text/plain' });
    for (const c of chunks) stream.write(c);
    stream.end();
    const body: Buffer[] = [];
    const status = await new Promise<number>((resolve, reject) => {
      let code = 0;
      stream.on('response', (h) => (code = Number(h[':status'])));
      stream.on('data', (c: Buffer) => body.push(c));
      stream.on('end', () => resolve(code));
      stream.on('error', reject);
    });
    assert.equal(status, 200);
    const h2Received = Buffer.concat(body).length;
    const afterH2 = await eventually('both reporters count the HTTP/2 request', async () => {
      const s = await sums();
      return s[0]! - afterChunked[0]! === sent && s[1]! - afterChunked[1]! === sent ? s : undefined;
    });
    assert.deepEqual(afterH2.map((v, i) => v - afterChunked[i]!), [sent, sent, h2Received, h2Received]);
  } finally {
    session.close();
  }
});

/**
 * Istio's gRPC message counts on a running mesh: gRPC calls from the sleep pod's side go through its sidecar, over
 * mTLS to grpc-echo's sidecars (three replicas); grpc-echo answers each message of a call with one. A call of one
 * message counts one each way, a call of four messages four each way; the source reporter (sleep's sidecar) and the
 * destination reporters (grpc-echo's) agree, with istio_requests_total's labels. A Telemetry applied while the mesh runs disables GRPC_REQUEST_MESSAGES at the
 * server side and upserts a tag on GRPC_RESPONSE_MESSAGES, without a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { parsePromText } from './support/prom-text.js';
import type { Sample } from './support/prom-text.js';
import { cleanup } from './support/cleanup.js';
import { applyAndSync } from './support/config-sync.js';
import { grpcFrame, grpcMessages } from '../examples/grpc-echo/grpc-frame.js';
import { ECHO_REPLICAS } from './support/grpc-echo-mesh.js';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-grpc-messages-'));
let mesh: MeshRun | undefined;
let session: http2.ClientHttp2Session | undefined;
cleanup('mesh-grpc-messages', async () => {
  session?.destroy();
  await mesh?.stop('SIGTERM');
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const FQDN = 'grpc-echo.default.svc.cluster.local';

async function scrape(m: MeshRun, workload: string): Promise<Sample[]> {
  const res = await request(`http://${m.workload(workload).podIP}:15020/stats/prometheus`);
  assert.equal(res.statusCode, 200);
  return parsePromText(await res.body.text());
}

/** Every series of `name` at the reporter, from sleep's sidecar (source) or the replicas' (destination). */
async function series(m: MeshRun, name: string, reporter: 'source' | 'destination'): Promise<Sample[]> {
  const from = reporter === 'source' ? ['sleep'] : ECHO_REPLICAS;
  const all = await Promise.all(from.map((w) => scrape(m, w)));
  return all.flat().filter((s) => s.name === name && s.labels['reporter'] === reporter && s.labels['destination_service'] === FQDN);
}

const total = (xs: Sample[]): number => xs.reduce((n, s) => n + s.value, 0);

test('gRPC message counts through real sidecars over mTLS, and a Telemetry override of them', { timeout: 170_000 }, async () => {
  mesh = await startMesh(['examples/httpbin', 'examples/grpc-echo'], { stateDir, isolation: 'none' });
  const m = mesh;
  // sleep's app speaks h2c to its sidecar's outbound listener (its http_proxy), naming grpc-echo by :authority.
  const h2 = (session = http2.connect(`http://${m.workload('sleep').outbound}`));
  h2.on('error', () => undefined);
  /** One call to /echo.Echo/Say carrying these messages; resolves with the replies and grpc-status. */
  const say = (...messages: string[]): Promise<{ replies: string[]; status: string | undefined }> =>
    new Promise((resolve, reject) => {
      const req = h2.request({ ':method': 'POST', ':path': '/echo.Echo/Say', ':authority': 'grpc-echo:50051', 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('trailers', (t) => (status = String(t['grpc-status'])));
      req.on('error', reject);
      req.on('end', () => resolve({ replies: (grpcMessages(Buffer.concat(chunks)) ?? []).map((r) => r.slice(r.indexOf(': ') + 2)), status }));
      req.end(Buffer.concat(messages.map((x) => grpcFrame(x))));
    });

  for (let i = 0; i < 3; i++) assert.deepEqual(await say(`m${i}`), { replies: [`m${i}`], status: '0' });
  assert.deepEqual(await say('a', 'b', 'c', 'd'), { replies: ['a', 'b', 'c', 'd'], status: '0' });
  // Four calls: three of one message each way, one of four each way.
  const want = { requests: 4, requestMessages: 7, responseMessages: 7 };
  for (const reporter of ['source', 'destination'] as const) {
    const got = await eventually(`the ${reporter} reporters counted the four calls`, async () => {
      const g = {
        requests: total(await series(m, 'istio_requests_total', reporter)),
        requestMessages: total(await series(m, 'istio_request_messages_total', reporter)),
        responseMessages: total(await series(m, 'istio_response_messages_total', reporter)),
      };
      return g.requests >= 4 ? g : undefined;
    });
    assert.deepEqual(got, want, reporter);
    const labelled = await series(m, 'istio_request_messages_total', reporter);
    for (const s of labelled) {
      assert.equal(s.labels['request_protocol'], 'grpc');
      assert.equal(s.labels['source_workload'], 'sleep');
      assert.equal(s.labels['source_principal'], 'spiffe://cluster.local/ns/default/sa/sleep');
      assert.equal(s.labels['destination_principal'], 'spiffe://cluster.local/ns/default/sa/grpc-echo');
      assert.equal(s.labels['grpc_response_status'], '0');
      assert.equal(s.labels['connection_security_policy'], reporter === 'destination' ? 'mutual_tls' : 'unknown');
    }
  }

  const telemetry = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: grpc-echo-messages, namespace: default }
spec:
  selector: { matchLabels: { app: grpc-echo } }
  metrics:
  - providers: [{ name: prometheus }]
    overrides:
    - match: { metric: GRPC_REQUEST_MESSAGES, mode: SERVER }
      disabled: true
    - match: { metric: GRPC_RESPONSE_MESSAGES, mode: SERVER }
      tagOverrides:
        call_kind: { value: "'echo'" }
`;
  await applyAndSync(m, 'apply', { yaml: telemetry }, ECHO_REPLICAS);
  const before = { dst: total(await series(m, 'istio_request_messages_total', 'destination')), src: total(await series(m, 'istio_request_messages_total', 'source')) };
  for (let i = 0; i < 3; i++) assert.equal((await say(`later${i}`)).status, '0');
  // The replicas record each call once its stream ends: three responses counted under the new tag.
  await eventually('the destination recorded the three calls under the upserted tag', async () =>
    total((await series(m, 'istio_response_messages_total', 'destination')).filter((x) => x.labels['call_kind'] === 'echo')) >= 3 ? true : undefined,
  );
  const tagged = (await series(m, 'istio_response_messages_total', 'destination')).filter((x) => 'call_kind' in x.labels);
  assert.equal(total(tagged), 3);
  assert.equal(total(await series(m, 'istio_request_messages_total', 'destination')), before.dst, 'GRPC_REQUEST_MESSAGES disabled at the server side');
  // The client side is not selected by the Telemetry: the source reporter still counts, without the tag.
  await eventually('the source reporter counted the three calls', async () => (total(await series(m, 'istio_request_messages_total', 'source')) === before.src + 3 ? true : undefined));
  assert.ok((await series(m, 'istio_response_messages_total', 'source')).every((x) => !('call_kind' in x.labels)));
  await m.stop('SIGTERM');
  mesh = undefined;
});

/**
 * A real OTLP/HTTP trace receiver for tests: POST /v1/traces with protobuf bodies, decoded with the OTLP proto
 * definitions (test/fixtures/otlp) by @grpc/proto-loader, answered as a collector answers (200, an empty
 * ExportTraceServiceResponse).
 */
import http from 'node:http';
import path from 'node:path';
import assert from 'node:assert/strict';
import protoLoader from '@grpc/proto-loader';
import { tracingFor } from '../../src/proxy/telemetry/telemetry-policy.js';
import { untilRunning } from './config-sync.js';
import { REPO_ROOT } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  attributes: Record<string, string | number | boolean>;
  /** The resource's service.name. */
  service: string;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}
interface DecodedRequest {
  resourceSpans: Array<{
    resource?: { attributes: Array<{ key: string; value: AnyValue }> };
    scopeSpans: Array<{ spans: Array<{ traceId: Buffer; spanId: Buffer; parentSpanId: Buffer; name: string; kind: string; attributes: Array<{ key: string; value: AnyValue }> }> }>;
  }>;
}

const definition = protoLoader.loadSync(path.join(REPO_ROOT, 'test', 'fixtures', 'otlp', 'trace_service.proto'), { longs: String, enums: String, defaults: true, oneofs: true });
const exportMethod = (definition['opentelemetry.proto.collector.trace.v1.TraceService'] as Record<string, { requestDeserialize(b: Buffer): unknown; responseSerialize(v: unknown): Buffer }>)['Export']!;

function valueOf(v: AnyValue): string | number | boolean {
  return v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? ''));
}

export function decodeExportRequest(body: Buffer): ReceivedSpan[] {
  const req = exportMethod.requestDeserialize(body) as DecodedRequest;
  const out: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans) {
    const service = String(valueOf(rs.resource?.attributes.find((a) => a.key === 'service.name')?.value ?? {}));
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({
          traceId: s.traceId.toString('hex'),
          spanId: s.spanId.toString('hex'),
          parentSpanId: s.parentSpanId.toString('hex'),
          name: s.name,
          kind: s.kind,
          attributes: Object.fromEntries(s.attributes.map((a) => [a.key, valueOf(a.value)])),
          service,
        });
      }
    }
  }
  return out;
}

export interface OtlpReceiver {
  port: number;
  spans: ReceivedSpan[];
  /** Requests that were not a decodable export. */
  rejected: number;
  close(): Promise<void>;
}

/**
 * Istio's way to trace to the receiver: an opentelemetry extension provider, chosen by defaultProviders; sampling 0,
 * so that only forced and client-sampled requests are traced.
 */
export function tracingMeshConfig(receiverPort: number): string {
  return `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh, namespace: weft-system }
spec:
  extensionProviders:
  - name: otel
    opentelemetry: { service: 127.0.0.1, port: ${receiverPort} }
  defaultProviders: { tracing: [otel] }
  defaultConfig: { tracing: { sampling: 0 } }
`;
}

/**
 * Applies tracingMeshConfig and waits until every proxy of the mesh runs it, on both its sides, as the proxy itself
 * reads its config: a request sent before that would start its trace at whichever hop had the config first.
 */
export async function traceMeshTo(mesh: MeshRun, receiver: OtlpReceiver): Promise<void> {
  const r = await mesh.weft(['apply', '-f', '-'], tracingMeshConfig(receiver.port));
  assert.equal(r.code, 0, r.stderr);
  await untilRunning(mesh, 'every proxy to trace to the receiver', (c) => tracingFor(c, 'client')?.collector.port === receiver.port && tracingFor(c, 'server')?.collector.port === receiver.port);
}

export async function startOtlpReceiver(host = '127.0.0.1'): Promise<OtlpReceiver> {
  const r: OtlpReceiver = { port: 0, spans: [], rejected: 0, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
        r.rejected++;
        res.writeHead(404).end();
        return;
      }
      try {
        r.spans.push(...decodeExportRequest(Buffer.concat(chunks)));
      } catch {
        r.rejected++;
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(exportMethod.responseSerialize({}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  r.port = (server.address() as { port: number }).port;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  return r;
}

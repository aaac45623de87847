/**
 * examples/grpc-echo's three replicas and httpbin's sleep pod in network namespaces, as the gRPC mesh tests run
 * them: one mesh per test file, with its cleanup registered, and the helpers those files share (a call from sleep,
 * the replicas' inbound access lines in time order, an AuthorizationPolicy on grpc-echo's paths).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../../src/mesh/netns/pod-names.js';
import { startMesh } from './mesh-process.js';
import type { MeshRun } from './mesh-process.js';
import { removeMeshObjects } from './netns-traces.js';
import { inboundAccessLines } from './access-log.js';
import { cleanup } from './cleanup.js';

export const SLEEP_ID = 'spiffe://cluster.local/ns/default/sa/sleep';
export const ECHO_REPLICAS = ['grpc-echo', 'grpc-echo-2', 'grpc-echo-3'];

export interface GrpcEchoMesh {
  /** The mesh's digest, by which its leftovers are found. */
  readonly digest: string;
  /** Starts the mesh (once per file). */
  start(): Promise<MeshRun>;
  /** The replicas' inbound access lines, in time order: lines logged after a point are the tail whichever replica logged them. */
  echoLines(): ReturnType<typeof inboundAccessLines>;
  /** One call (or `count` calls on one connection) from sleep to grpc-echo:50051 through the captured path. */
  grpcCall(message: string, count?: number): ReturnType<MeshRun['weft']>;
}

/** The mesh of one test file, removed (with its namespaces) when the file ends or is cancelled; `skip`: nothing to remove. */
export function grpcEchoMesh(name: string, skip: string | undefined): GrpcEchoMesh {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `weft-${name}-`));
  const digest = meshDigest(stateDir);
  let mesh: MeshRun | undefined;
  cleanup(name, async () => {
    await mesh?.stop('SIGTERM');
    if (!skip) await removeMeshObjects(digest);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  const logs = ECHO_REPLICAS.map((n) => path.join(stateDir, 'logs', `default.${n}.sidecar.log`));
  return {
    digest,
    start: async () => (mesh = await startMesh(['examples/httpbin', 'examples/grpc-echo'], { stateDir, isolation: 'netns' })),
    echoLines: () => logs.flatMap((f) => inboundAccessLines(f)).sort((a, b) => ((a as { time?: string }).time ?? '').localeCompare((b as { time?: string }).time ?? '')),
    grpcCall: (message, count) => {
      if (mesh === undefined) throw new Error('the gRPC mesh is not started');
      const args = count === undefined ? [message] : [message, String(count)];
      return mesh.weft(['exec', 'sleep', '--', 'timeout', count === undefined ? '20' : '60', 'node', 'dist/examples/grpc-echo/grpc-call.js', 'grpc-echo:50051', ...args]);
    },
  };
}

/** An AuthorizationPolicy on grpc-echo for `paths`, from `principals` when given. */
export function echoPolicy(name: string, action: 'ALLOW' | 'DENY', paths: string[], principals?: string[]): string {
  const from = principals ? `\n  - from: [{ source: { principals: ${JSON.stringify(principals)} } }]\n    to` : '\n  - to';
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: default }
spec:
  selector: { matchLabels: { app: grpc-echo } }
  action: ${action}
  rules:${from}: [{ operation: { paths: ${JSON.stringify(paths)} } }]
`;
}

/**
 * gRPC balanced per call in a loopback mesh (no network namespaces): the sleep pod's client speaks h2c to its
 * sidecar's explicit outbound listener (its http_proxy), naming grpc-echo by `:authority`; the sidecar balances the
 * calls of that one connection over grpc-echo's three replicas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { cleanup } from './support/cleanup.js';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-grpc-balance-'));
let mesh: MeshRun | undefined;
cleanup('mesh-grpc-balance', async () => {
  await mesh?.stop('SIGTERM');
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test('gRPC calls on one h2c connection to the sidecar spread over three replicas', { timeout: 150_000 }, async () => {
  mesh = await startMesh(['examples/httpbin', 'examples/grpc-echo'], { stateDir, isolation: 'none' });
  const r = await mesh.weft(['exec', 'sleep', '--', 'timeout', '60', 'node', 'dist/examples/grpc-echo/grpc-call.js', 'grpc-echo:50051', 'spread', '300']);
  assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
  const counts = [...r.stdout.matchAll(/^(grpc-echo[\w-]*) answered (\d+)$/gm)].map((x) => Number(x[2]));
  assert.equal(counts.length, 3, r.stdout);
  for (const n of counts) assert.ok(n >= 50, r.stdout);
  await mesh.stop('SIGTERM');
  mesh = undefined;
});

/** The redis example loads as `weft up` loads it, and its port is named so that the mesh carries it as TCP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadResources } from '../../src/config/load.js';
import type { ServiceSpec } from '../../src/config/kinds/service.js';
import type { WorkloadSpec } from '../../src/config/kinds/workload.js';

const dir = fileURLToPath(new URL('../../../examples/redis', import.meta.url));

test('examples/redis: redis-server in memory only behind a tcp- port, and a client pod', async () => {
  const loaded = (await loadResources([dir])).map((l) => l.resource);
  const find = (kind: string, name: string): unknown => loaded.find((r) => r.kind === kind && r.metadata.name === name)?.spec;
  const service = find('Service', 'redis') as ServiceSpec;
  assert.deepEqual((service.ports ?? []).map((p) => [p.name, p.port, p.targetPort]), [['tcp-redis', 6379, 6379]]);
  const redis = find('Workload', 'redis') as WorkloadSpec;
  assert.deepEqual(redis.command, ['redis-server', '--port', '6379', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']);
  assert.deepEqual(redis.ports.map((p) => [p.name, p.containerPort]), [['tcp-redis', 6379]]);
  const client = find('Workload', 'redis-client') as WorkloadSpec;
  assert.equal(client.serviceAccount, 'redis-client');
});

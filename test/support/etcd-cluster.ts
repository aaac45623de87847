/**
 * etcd members for a test file: free loopback ports, a temporary directory, and teardown registered before any
 * member starts, so a cancelled file leaves no etcd running and no data behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { freeListenPort } from '../../bench/listen-port.js';
import { onTeardown } from '../../bench/teardown.js';
import { startEtcdCluster } from '../../src/control/store/etcd-process.js';
import type { EtcdMember } from '../../src/control/store/etcd-process.js';
import type { EtcdPkiFiles } from '../../src/control/store/etcd-certificates.js';
import { etcdCredentials } from '../../src/control/store/etcd-tls.js';

export interface TestEtcd {
  members: EtcdMember[];
  endpoints: string[];
  /** Compacts the cluster's history up to its current revision (physically, so old revisions are gone). */
  compact(): Promise<void>;
  stop(): Promise<void>;
}

/** `tls`: members serve clients and peers over TLS with these files (etcd-certificates.ts), client certificates required. */
export async function startTestEtcd(size: number, options: { tls?: EtcdPkiFiles } = {}): Promise<TestEtcd> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-etcd-'));
  const members: EtcdMember[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  const unregister = onTeardown({ what: `etcd cluster in ${dir}`, stop, kill: () => members.forEach((m) => m.kill()) });
  const ports: number[] = [];
  while (ports.length < size * 2) {
    const p = await freeListenPort();
    if (!ports.includes(p)) ports.push(p);
  }
  members.push(...(await startEtcdCluster({ dir, ports, ...(options.tls ? { tls: options.tls } : {}) })));
  const endpoints = members.map((m) => m.clientUrl);
  return {
    members,
    endpoints,
    async compact() {
      const tls = options.tls && { caFile: options.tls.caFile, certFile: options.tls.clientCertFile, keyFile: options.tls.clientKeyFile };
      const credentials = etcdCredentials(tls);
      const client = new Etcd3({ hosts: endpoints, ...(credentials ? { credentials } : {}) });
      try {
        const revision = (await client.get('weft-compact-probe').exec()).header.revision;
        await client.kv.compact({ revision, physical: true });
      } finally {
        client.close();
      }
    },
    async stop() {
      unregister();
      await stop();
    },
  };
}

/**
 * `weft up --store etcd`: the etcd members the local mesh runs (unless it was given a cluster's endpoints), the
 * sealing key its control-plane replicas share, and the ports of replicas after the first. Ports are chosen on
 * the first start and kept in the state directory, because an etcd member's data remembers its peer address and
 * proxies are started with every replica's address.
 */
import fs from 'node:fs';
import { Etcd3 } from 'etcd3';
import { WeftError } from '../errors.js';
import path from 'node:path';
import { ETCD_MAX_TXN_OPS, clientUrl, memberArgs } from '../control/store/etcd-process.js';
import { ensureEtcdPki } from '../control/store/etcd-certificates.js';
import { etcdCredentials } from '../control/store/etcd-tls.js';
import type { EtcdClientTls } from '../control/store/etcd-tls.js';
import type { EtcdMemberSpec } from '../control/store/etcd-process.js';
import { createSealingKeyFile } from '../control/replica/envelope.js';
import type { StateDirLayout } from './state-dir.js';
import { SupervisedProcess } from './process-supervisor.js';
import { waitForPort } from './wait-for-port.js';

export type LocalStore = { kind: 'sqlite' } | { kind: 'etcd'; replicas: number; members: number; endpoints?: string[]; tls?: EtcdClientTls };

const START_TIMEOUT_MS = 30_000;

interface LocalPorts {
  etcd: { client: number; peer: number }[];
  replicas: number[];
}

export function sealingKeyFile(layout: StateDirLayout): string {
  return path.join(layout.caDir, 'sealing.key');
}

/** The sealing key of this mesh's replicas, made on the first start. */
export function ensureSealingKey(layout: StateDirLayout): string {
  const file = sealingKeyFile(layout);
  fs.mkdirSync(layout.caDir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) createSealingKeyFile(file);
  return file;
}

/** Ports of `members` etcd members and `replicas - 1` more replicas, chosen once and kept. */
export async function localPorts(layout: StateDirLayout, store: Extract<LocalStore, { kind: 'etcd' }>, freePort: () => Promise<number>): Promise<LocalPorts> {
  const file = path.join(layout.root, 'etcd-ports.json');
  let ports: LocalPorts = { etcd: [], replicas: [] };
  if (fs.existsSync(file)) ports = JSON.parse(fs.readFileSync(file, 'utf8')) as LocalPorts;
  const taken = new Set([...ports.etcd.flatMap((p) => [p.client, p.peer]), ...ports.replicas]);
  const fresh = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const members = store.endpoints === undefined ? store.members : 0;
  while (ports.etcd.length < members) ports.etcd.push({ client: await fresh(), peer: await fresh() });
  while (ports.replicas.length < store.replicas - 1) ports.replicas.push(await fresh());
  fs.writeFileSync(file, `${JSON.stringify(ports)}\n`, { mode: 0o600 });
  return { etcd: ports.etcd.slice(0, members), replicas: ports.replicas.slice(0, store.replicas - 1) };
}

/** Starts the members (supervised: a crashed member is restarted on its data) and waits until each takes clients. */
export async function startLocalEtcd(
  layout: StateDirLayout,
  ports: LocalPorts['etcd'],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  stopping: () => boolean,
): Promise<{ members: SupervisedProcess[]; endpoints: string[]; tls: EtcdClientTls }> {
  // Client and peer TLS under a CA of the members' own, distinct from the mesh CA; replicas get the client pair.
  const pki = await ensureEtcdPki(path.join(layout.root, 'etcd', 'tls'), ['127.0.0.1']);
  const tls: EtcdClientTls = { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile };
  const specs: EtcdMemberSpec[] = ports.map((p, i) => ({ name: `m${i}`, dataDir: path.join(layout.root, 'etcd', `m${i}`), host: '127.0.0.1', clientPort: p.client, peerPort: p.peer, tls: pki }));
  const members = specs.map((spec) => {
    fs.mkdirSync(spec.dataDir, { recursive: true, mode: 0o700 });
    return new SupervisedProcess(
      { name: `etcd-${spec.name}`, command: 'etcd', args: memberArgs(spec, specs, `weft-${path.basename(layout.root)}`), env, logFile: path.join(layout.logDir, `etcd-${spec.name}.log`) },
      {
        onExit: (code, signal) => {
          if (!stopping()) log(`etcd member ${spec.name} exited (${signal ?? code}); restarting`);
        },
      },
    );
  });
  await Promise.all(members.map((m) => m.start()));
  await Promise.all(specs.map((s, i) => waitForPort(s.host, s.clientPort, START_TIMEOUT_MS, () => members[i]?.child !== undefined)));
  const endpoints = specs.map(clientUrl);
  await untilHealthy(endpoints, tls);
  log(`etcd: ${specs.length} member(s) on ${endpoints.join(', ')} (client and peer TLS, max-txn-ops ${ETCD_MAX_TXN_OPS})`);
  return { members, endpoints, tls };
}

/** `weft control` flags for the client TLS files. */
export function etcdTlsArgs(tls: EtcdClientTls | undefined): string[] {
  if (tls === undefined) return [];
  return ['--etcd-cacert', tls.caFile, ...(tls.certFile === undefined ? [] : ['--etcd-cert', tls.certFile]), ...(tls.keyFile === undefined ? [] : ['--etcd-key', tls.keyFile])];
}

/**
 * Resolves once the cluster answers a read. A TCP connect alone proves little: a port in the ephemeral range with
 * no listener yet can connect to itself (TCP simultaneous open), and a member listens before it has a leader.
 */
async function untilHealthy(endpoints: string[], tls: EtcdClientTls): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const client = new Etcd3({ hosts: endpoints, dialTimeout: 2000, credentials: etcdCredentials(tls)! });
  try {
    for (;;) {
      try {
        await client.get('weft-health').options({ deadline: Date.now() + 2000 }).exec();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new WeftError('STORE', `the local etcd did not answer within ${START_TIMEOUT_MS} ms: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    client.close();
  }
}

/**
 * Runs etcd members on this machine: one for `weft up --store etcd`, three on loopback for tests of the etcd
 * backend and of control-plane replicas. Each member gets its own data directory and its own ports; the caller
 * chooses them (free ports, temporary directories) and registers the stop before starting.
 *
 * The store writes a change, its history record and its audit chain entry in one transaction, so a large apply
 * holds many operations: members run with a raised `--max-txn-ops` (etcd's default is 128) and request size.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../errors.js';
import { waitForPort } from '../../mesh/wait-for-port.js';
import type { EtcdPkiFiles } from './etcd-certificates.js';

/** Operations one store transaction may hold; `weft control --store etcd` needs members started with at least this. */
export const ETCD_MAX_TXN_OPS = 8192;
const ETCD_MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const START_TIMEOUT_MS = 30_000;

export interface EtcdMemberSpec {
  name: string;
  dataDir: string;
  host: string;
  clientPort: number;
  peerPort: number;
  /** Client and peer TLS with certificates from etcd-certificates.ts; plaintext without. */
  tls?: EtcdPkiFiles;
}

export interface EtcdMember {
  readonly spec: EtcdMemberSpec;
  /** http(s)://host:clientPort */
  readonly clientUrl: string;
  readonly pid: number | undefined;
  /** SIGKILL to the member (a crash, for failover tests). */
  kill(): void;
  /** SIGTERM, then SIGKILL if it does not exit in time. */
  stop(): Promise<void>;
  /** Starts the member again on the same data directory and ports (it rejoins its cluster). */
  restart(): Promise<void>;
  exited(): boolean;
}

export function peerUrl(m: EtcdMemberSpec): string {
  return `${m.tls ? 'https' : 'http'}://${m.host}:${m.peerPort}`;
}

export function clientUrl(m: EtcdMemberSpec): string {
  return `${m.tls ? 'https' : 'http'}://${m.host}:${m.clientPort}`;
}

/** etcd's own TLS flags: clients and peers must present a certificate from the members' CA (client-cert-auth). */
function tlsArgs(tls: EtcdPkiFiles): string[] {
  return [
    '--cert-file', tls.memberCertFile, '--key-file', tls.memberKeyFile, '--trusted-ca-file', tls.caFile, '--client-cert-auth',
    '--peer-cert-file', tls.memberCertFile, '--peer-key-file', tls.memberKeyFile, '--peer-trusted-ca-file', tls.caFile, '--peer-client-cert-auth',
  ];
}

export function memberArgs(m: EtcdMemberSpec, cluster: readonly EtcdMemberSpec[], token: string): string[] {
  const client = clientUrl(m);
  return [
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peerUrl(m),
    '--initial-advertise-peer-urls', peerUrl(m),
    '--initial-cluster', cluster.map((c) => `${c.name}=${peerUrl(c)}`).join(','),
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', token,
    '--max-txn-ops', String(ETCD_MAX_TXN_OPS),
    '--max-request-bytes', String(ETCD_MAX_REQUEST_BYTES),
    '--log-level', 'warn',
    '--logger', 'zap',
    ...(m.tls ? tlsArgs(m.tls) : []),
  ];
}

class EtcdProcess implements EtcdMember {
  readonly spec: EtcdMemberSpec;
  readonly clientUrl: string;
  readonly #args: string[];
  readonly #logFile: string;
  #child: ChildProcess | undefined;

  constructor(spec: EtcdMemberSpec, args: string[], logFile: string) {
    this.spec = spec;
    this.clientUrl = clientUrl(spec);
    this.#args = args;
    this.#logFile = logFile;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  exited(): boolean {
    return this.#child === undefined || this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  spawn(): void {
    fs.mkdirSync(this.spec.dataDir, { recursive: true, mode: 0o700 });
    const out = fs.openSync(this.#logFile, 'a');
    // Its own process group, so stopping it never signals the caller's group.
    this.#child = spawn('etcd', this.#args, { stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    this.#child.once('error', () => undefined);
  }

  async ready(): Promise<void> {
    try {
      await waitForPort(this.spec.host, this.spec.clientPort, START_TIMEOUT_MS, () => !this.exited());
    } catch (cause) {
      const tail = fs.existsSync(this.#logFile) ? fs.readFileSync(this.#logFile, 'utf8').slice(-2000) : '';
      throw new WeftError('STORE', `etcd member ${this.spec.name} did not start: ${(cause as Error).message}\n${tail}`, { cause });
    }
  }

  kill(): void {
    const child = this.#child;
    if (child?.pid !== undefined && !this.exited()) process.kill(-child.pid, 'SIGKILL');
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child?.pid === undefined || this.exited()) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => this.kill(), 5000);
    await gone;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.spawn();
    await this.ready();
  }
}

export interface EtcdClusterOptions {
  /** A directory for the members' data and logs; the caller removes it. */
  dir: string;
  host?: string;
  /** Two ports per member (client, peer), from the caller's free-port source. */
  ports: readonly number[];
  /** Client and peer TLS (certificates naming `host`). */
  tls?: EtcdPkiFiles;
}

/** Starts `ports.length / 2` members forming one cluster; resolves once every member accepts clients. */
export async function startEtcdCluster(o: EtcdClusterOptions): Promise<EtcdMember[]> {
  if (o.ports.length < 2 || o.ports.length % 2 !== 0) throw new TypeError('two ports per etcd member');
  const host = o.host ?? '127.0.0.1';
  const specs: EtcdMemberSpec[] = [];
  for (let i = 0; i < o.ports.length / 2; i++) {
    specs.push({ name: `m${i}`, dataDir: path.join(o.dir, `m${i}`), host, clientPort: o.ports[2 * i] as number, peerPort: o.ports[2 * i + 1] as number, ...(o.tls ? { tls: o.tls } : {}) });
  }
  const token = `weft-${path.basename(o.dir)}`;
  const members = specs.map((s) => new EtcdProcess(s, memberArgs(s, specs, token), path.join(o.dir, `${s.name}.log`)));
  for (const m of members) m.spawn();
  try {
    await Promise.all(members.map((m) => m.ready()));
  } catch (err) {
    await Promise.all(members.map((m) => m.stop()));
    throw err;
  }
  return members;
}

/**
 * The control plane of `weft up`: its store (SQLite in the state directory, or etcd: the members this mesh runs
 * unless given a cluster), its replicas, and the admin client the rest of `weft up` applies and records status with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ControlClient } from '../cli/client.js';
import { SupervisedProcess } from './process-supervisor.js';
import { waitForPort, freePort } from './wait-for-port.js';
import { ensureSealingKey, etcdTlsArgs, localPorts, startLocalEtcd } from './local-store.js';
import { metricsAddresses } from './observability/scrape-targets.js';
import type { LocalStore } from './local-store.js';
import { START_TIMEOUT_MS, WEFT_BIN } from './mesh-context.js';
import type { MeshContext } from './mesh-context.js';
import type { MeshFile } from './mesh-file.js';
import { controlPlaneEnv } from '../control/allocator-settings.js';

export interface LocalControlPlaneOptions {
  /** Where the first replica listens (host:port). */
  address: string;
  store?: LocalStore;
  caFiles?: { certFile: string; keyFile: string; chainFile?: string };
  historyRetentionMs?: number;
  auditSignIntervalMs?: number;
  /** `--prometheus`: every replica serves control-plane metrics on a loopback port of its own. */
  metrics?: boolean;
}

type Context = Pick<MeshContext, 'layout' | 'mesh' | 'log' | 'network' | 'stopping' | 'changed' | 'marked'>;

export class LocalControlPlane {
  #control: SupervisedProcess | undefined;
  /** Replicas after the first (etcd only), and the etcd members this mesh runs. */
  #replicas: { address: string; process: SupervisedProcess | undefined }[] = [];
  #etcd: SupervisedProcess[] = [];
  #storeArgs: string[] = [];
  /** Each replica's metrics listener, the first replica first; empty without `metrics`. */
  #metrics: string[] = [];
  #client: ControlClient | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly o: LocalControlPlaneOptions,
  ) {}

  get client(): ControlClient {
    if (this.#client === undefined) throw new Error('the control plane is not started');
    return this.#client;
  }

  /** Every replica's address, the first one first: what proxies are told. */
  get addresses(): string[] {
    return [this.o.address, ...this.#replicas.map((r) => r.address)];
  }

  /** Every replica's metrics listener (host:port), the first replica first: Prometheus's targets. */
  get metricsListeners(): readonly string[] {
    return this.#metrics;
  }

  /** The store (etcd members when this mesh runs them), then the first replica alone, then the rest. */
  async start(): Promise<void> {
    const [host] = this.o.address.split(':') as [string];
    await this.#startStore(host);
    if (this.o.metrics === true) this.#metrics = await metricsAddresses(this.addresses.length, freePort);
    // The first replica alone, so that it alone makes the admin credential and the shared secrets; then the rest,
    // one after another: each campaigns for the lease as it starts, so the lease passes in the order they were
    // started, control, control-1, control-2, not in the order a race of starts left.
    this.#control = await this.#startReplica(this.o.address, 'control', this.#metrics[0]);
    for (const [i, r] of this.#replicas.entries()) r.process = await this.#startReplica(r.address, `control-${i + 1}`, this.#metrics[i + 1]);
    this.#client = new ControlClient({
      address: this.o.address,
      peers: this.#replicas.map((r) => r.address),
      credential: fs.readFileSync(this.ctx.layout.adminCredentialFile, 'utf8').trim(),
      caPem: fs.readFileSync(this.ctx.layout.trustBundleFile, 'utf8'),
    });
  }

  async stop(): Promise<void> {
    await Promise.all([this.#control, ...this.#replicas.map((r) => r.process)].map((c) => c?.stop()));
    await Promise.all(this.#etcd.map((m) => m.stop()));
    await this.#client?.close();
  }

  /** mesh.json's control, replicas and etcd entries. */
  meshFileEntries(): Pick<MeshFile, 'control' | 'replicas' | 'etcd'> {
    return {
      control: { address: this.o.address, pid: this.#control?.pid ?? null },
      ...(this.#replicas.length === 0 ? {} : { replicas: this.#replicas.map((r) => ({ address: r.address, pid: r.process?.pid ?? null })) }),
      ...(this.#etcd.length === 0 ? {} : { etcd: this.#etcd.map((m) => ({ pid: m.pid })) }),
    };
  }

  /** etcd: the members (unless given a cluster), the sealing key, the other replicas' addresses. */
  async #startStore(host: string): Promise<void> {
    const store = this.o.store;
    if (store === undefined || store.kind === 'sqlite') return;
    const ports = await localPorts(this.ctx.layout, store, freePort);
    this.#replicas = ports.replicas.map((port) => ({ address: `${host}:${port}`, process: undefined }));
    let { endpoints, tls } = store;
    if (endpoints === undefined) {
      const started = await startLocalEtcd(this.ctx.layout, ports.etcd, this.ctx.marked(process.env), this.ctx.log, () => this.ctx.stopping());
      this.#etcd = started.members;
      ({ endpoints, tls } = started);
    }
    this.#storeArgs = ['--store', 'etcd', '--etcd-endpoints', endpoints.join(','), ...etcdTlsArgs(tls), '--sealing-key', ensureSealingKey(this.ctx.layout)];
  }

  /** `metrics`: where this replica serves the control-plane metrics Prometheus scrapes. */
  #args(listen: string, metrics: string | undefined): string[] {
    const { layout, mesh, network } = this.ctx;
    const args = [WEFT_BIN, 'control', '--state-dir', layout.root, '--listen', listen, '--trust-domain', mesh.trustDomain, '--root-namespace', mesh.rootNamespace, ...this.#storeArgs];
    // Services' virtual addresses (what pods' DNS answers) only exist where pods have a network to capture them in.
    if (network) args.push('--service-cidr', network.serviceSubnet.cidr);
    const { caFiles } = this.o;
    if (caFiles) {
      args.push('--ca-cert', caFiles.certFile, '--ca-key', caFiles.keyFile);
      if (caFiles.chainFile) args.push('--ca-chain', caFiles.chainFile);
    }
    if (this.o.historyRetentionMs !== undefined) args.push('--history-retention', `${this.o.historyRetentionMs}ms`);
    if (this.o.auditSignIntervalMs !== undefined) args.push('--audit-sign-interval', `${this.o.auditSignIntervalMs}ms`);
    if (metrics !== undefined) args.push('--metrics-listen', metrics);
    return args;
  }

  async #startReplica(listen: string, name: string, metrics: string | undefined): Promise<SupervisedProcess> {
    const { layout, log } = this.ctx;
    const control = new SupervisedProcess(
      { name, command: process.execPath, args: this.#args(listen, metrics), env: this.ctx.marked(controlPlaneEnv(process.env)), logFile: path.join(layout.logDir, `${name}.log`) },
      {
        onExit: (code, signal) => {
          if (!this.ctx.stopping()) log(`${name === 'control' ? 'control plane' : name} exited (${signal ?? code}); restarting`);
          this.ctx.changed();
        },
        onStart: () => this.ctx.changed(),
      },
    );
    await control.start();
    const [host, port] = listen.split(':') as [string, string];
    await waitForPort(host, Number(port), START_TIMEOUT_MS, () => control.child !== undefined);
    return control;
  }
}

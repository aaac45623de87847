/**
 * `weft up`: the whole mesh on one machine. Order: validate every file (nothing starts on a bad one), start the
 * control plane, apply the resources, then each Workload as a pod (sidecar first, so the app's first outbound
 * call finds its proxy), then the ingress gateway and, in netns mode, the egress gateway (egress-gateway.ts).
 * Everything started is supervised and stopped on SIGINT/SIGTERM.
 */
import { GATEWAY_NAME, gatewayHostPorts, ingressGateway, unprivilegedPortStart } from './ingress-gateway.js';
import { gatewayApiListenerPorts } from './gateway-api-ports.js';
import { checkHostPortsFree } from './host-ports.js';
import { EGRESS_GATEWAY_NAME, egressGateway, egressServerPorts, wantsEgressGateway } from './egress-gateway.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedResource } from '../config/load.js';
import type { Resource } from '../config/resource.js';
import type { WorkloadSpec } from '../config/kinds/workload.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import type { MeshConfigSpec, MeshSettings } from '../config/kinds/mesh-config.js';
import { ControlClient } from '../cli/client.js';
import { SIDECAR_INBOUND_PORT, SIDECAR_OUTBOUND_PORT } from '../proxyconfig/types.js';
import { stateDirLayout } from './state-dir.js';
import type { StateDirLayout } from './state-dir.js';
import type { MeshFile, MeshProxyEntry, MeshWorkloadEntry } from './mesh-file.js';
import { SupervisedProcess } from './process-supervisor.js';
import { startObservability } from './observability/observability-stack.js';
import type { ObservabilityStack } from './observability/observability-stack.js';
import { loadOrChooseRuntime, podAddress } from './pod-addresses.js';
import { freePort, waitForPort } from './wait-for-port.js';
import { MESH_MARKER, claimStateDir, removeLeftoverProcesses } from './leftover-processes.js';
import { waitForConvergence } from './convergence.js';
import { openPodNetwork } from './netns/index.js';
import type { Isolation, PodNetwork } from './netns/index.js';
import { missingHardening, probePrivilegeDrop } from './netns/pod-identity.js';
import { appCommand, gatewayCommand, sidecarCommand } from './pod-commands.js';
import type { NetnsPodContext } from './pod-commands.js';
import type { PrivilegeDrop } from './netns/pod-identity.js';
import { explicitProxyEnv } from './explicit-proxy-env.js';
import { capturePod, hostUpstreamNameservers, sidecarCaptureEnv } from './netns/pod-capture.js';
import { podHostsFile } from './netns/pod-resolver-files.js';
import { CLUSTER_DOMAIN } from '../control/registry/index.js';
import { ensureSealingKey, etcdTlsArgs, localPorts, startLocalEtcd } from './local-store.js';
import { metricsAddresses } from './observability/scrape-targets.js';
import type { LocalStore } from './local-store.js';

export interface LocalMeshOptions {
  stateDir: string;
  resources: LoadedResource[];
  /** Host port the gateway's first HTTP server is published on (Istio's 8080 → here). */
  ingressPort: number;
  /** `--publish GATEWAY_PORT=HOST_PORT`, repeatable: where other Gateway server ports are published. */
  publish?: ReadonlyMap<number, number>;
  caFiles?: { certFile: string; keyFile: string; chainFile?: string };
  log: (line: string) => void;
  /** netns: each Workload and its sidecar in a network namespace of its own; none: all on loopback. */
  isolation?: Isolation;
  /** netns only: the CIDR the pods' subnet is taken from. */
  podRange?: string;
  /** Passed to the control plane when given (`weft control --history-retention`); else it keeps every revision. */
  historyRetentionMs?: number;
  /** Passed to the control plane when given (`weft control --audit-sign-interval`); else its default. */
  auditSignIntervalMs?: number;
  /** SQLite (default, one control plane) or etcd with one or more control-plane replicas. */
  store?: LocalStore;
  /** `weft up --prometheus`: Prometheus and Alertmanager for the mesh, scraping and evaluating at this interval. */
  prometheus?: { interval: string };
}

const START_TIMEOUT_MS = 30_000;

const WEFT_BIN = fileURLToPath(new URL('../../../bin/weft.js', import.meta.url));

interface Pod {
  resource: Resource<WorkloadSpec>;
  podIP: string;
  netns: string | undefined;
  sidecar: SupervisedProcess;
  app: SupervisedProcess;
}

export class LocalMesh {
  readonly layout: StateDirLayout;
  readonly mesh: MeshSettings;
  #control: SupervisedProcess | undefined;
  #controlAddress = '';
  /** Replicas after the first (etcd only), and the etcd members this mesh runs. */
  #replicas: { address: string; process: SupervisedProcess | undefined }[] = [];
  #etcd: SupervisedProcess[] = [];
  #storeArgs: string[] = [];
  #client: ControlClient | undefined;
  #pods: Pod[] = [];
  #gateway: SupervisedProcess | undefined;
  #gatewayEntry: MeshProxyEntry | null = null;
  #egress: SupervisedProcess | undefined;
  #egressEntry: MeshProxyEntry | null = null;
  #stopping = false;
  /** True once this process owns the state directory: only then is mesh.json ours to write and remove. */
  #claimed = false;
  #network: PodNetwork | undefined;
  /** netns only: the machine's resolvers, where sidecars forward names that are not the mesh's. */
  #dnsUpstream: string[] = [];
  /** As root: how pods' processes (netns) and the ingress gateway (both modes) leave root behind. */
  #drop: PrivilegeDrop | undefined;
  /** `--prometheus`: each control-plane replica's metrics listener (the first replica first), and Prometheus with Alertmanager. */
  #controlMetrics: string[] = [];
  #observability: ObservabilityStack | undefined;

  constructor(private readonly o: LocalMeshOptions) {
    this.layout = stateDirLayout(o.stateDir);
    const meshConfig = o.resources.find((r) => r.resource.kind === 'MeshConfig')?.resource.spec as MeshConfigSpec | undefined;
    this.mesh = meshConfigWithDefaults(meshConfig);
  }

  get controlAddress(): string {
    return this.#controlAddress;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.layout.logDir, { recursive: true, mode: 0o700 });
    claimStateDir(this.layout);
    this.#claimed = true;
    const stopped = removeLeftoverProcesses(this.layout.root);
    if (stopped > 0) this.o.log(`stopped ${stopped} processes left running by a previous weft up of ${this.layout.root}`);
    // Before anything starts: a taken gateway port would otherwise surface only as a NACK in the gateway's log.
    const { mappings } = gatewayHostPorts(this.o.resources, this.o.ingressPort, this.o.publish);
    for (const [from, to] of this.o.publish ?? []) {
      // A port of a Gateway applied later is published then too (the gateway reads WEFT_PUBLISH at each start).
      if (!mappings.has(from)) this.o.log(`--publish ${from}=${to}: no Gateway server on port ${from} yet; the mapping waits for one`);
    }
    const named = new Set(this.o.publish?.values());
    await checkHostPortsFree(
      [...new Map([...mappings].map(([from, to]) => [to, from])).entries()].map(([port, from]) => ({
        host: '127.0.0.1',
        port,
        what: named.has(port) ? `--publish ${from}=${port}` : port === this.o.ingressPort ? `--ingress-port ${port}` : `Gateway server port ${port}`,
      })),
    );
    const runtime = await loadOrChooseRuntime(this.layout.runtimeFile, freePort);
    if (process.getuid?.() === 0) await this.#probePrivilegeDrop();
    if (this.o.isolation === 'netns') await this.#openNetwork();
    // Pods reach the control plane at the bridge's address: it is a host address, so local clients reach it too.
    this.#controlAddress = `${this.#network?.subnet.bridgeAddress ?? '127.0.0.1'}:${runtime.controlPort}`;
    await this.#startStore(this.#network?.subnet.bridgeAddress ?? '127.0.0.1');
    if (this.o.prometheus) this.#controlMetrics = await metricsAddresses(this.controlAddresses.length, freePort);
    await this.#startControlPlane();
    const client = this.#client!;
    const resources = this.o.resources.map((r) => r.resource);
    const applied = await client.apply(resources);
    for (const a of applied) this.o.log(`${a.kind.toLowerCase()}/${a.name} ${a.result}`);

    const workloads = resources
      .filter((r): r is Resource<WorkloadSpec> => r.kind === 'Workload')
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    if (this.#network) this.#dnsUpstream = hostUpstreamNameservers();
    for (const [i, w] of workloads.entries()) {
      const inNetns = await this.#network?.addPod(i, w.metadata.namespace, w.metadata.name);
      if (this.#network && inNetns) await capturePod(this.#network, inNetns, w.metadata, CLUSTER_DOMAIN);
      this.#pods.push(this.#pod(w, inNetns?.podIP ?? podAddress(runtime.podBlock, i), inNetns?.netns));
    }
    await Promise.all(this.#pods.map((p) => this.#startPod(p)));
    // A Gateway that selects only the egress gateway does not call for an ingress gateway.
    if (resources.some((r) => r.kind === 'Gateway' && !wantsEgressGateway([r])) || gatewayApiListenerPorts(resources).length > 0) await this.#startGateway();
    if (wantsEgressGateway(resources)) await this.#startEgressGateway(workloads.length);
    await waitForConvergence(this.#client!, this.#pods.length + (this.#gateway ? 1 : 0) + (this.#egress ? 1 : 0), START_TIMEOUT_MS);
    if (this.o.prometheus) {
      this.#observability = await startObservability({
        prometheusPort: await freePort(),
        alertmanagerPort: await freePort(),
        interval: this.o.prometheus.interval,
        logDir: this.layout.logDir,
        env: this.#marked(process.env),
        controlMetrics: this.#controlMetrics,
      });
      this.o.log(`prometheus on http://${this.#observability.prometheus}, alertmanager on http://${this.#observability.alertmanager}`);
    }
    this.writeMeshFile();
  }

  /** netns pods cannot start without setpriv; on loopback only the gateway needs it, and runs as root without it. */
  async #probePrivilegeDrop(): Promise<void> {
    try {
      this.#drop = await probePrivilegeDrop();
    } catch (err) {
      if (this.o.isolation === 'netns') throw err;
      this.o.log(`${(err as Error).message}; the ingress gateway runs as root`);
      return;
    }
    const missing = missingHardening(this.#drop);
    if (missing.length > 0) this.o.log(`this setpriv lacks ${missing.join(', ')}: pods' apps and the gateway run without root but with less hardening`);
  }

  async #openNetwork(): Promise<void> {
    // Pods' processes are not root: the CA key, the store and the logs are kept from them whatever the umask was.
    fs.chmodSync(this.layout.root, 0o700);
    this.#network = await openPodNetwork({ stateDir: this.layout.root, podRange: this.o.podRange ?? this.mesh.podRange, log: this.o.log });
  }

  /** netns pods: what a sidecar under its own uid needs to capture and answer DNS. */
  #captureEnv(): NodeJS.ProcessEnv {
    return sidecarCaptureEnv({ trustBundlePem: fs.readFileSync(this.layout.trustBundleFile, 'utf8'), dnsUpstream: this.#dnsUpstream });
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#gateway?.stop();
    await this.#egress?.stop();
    await Promise.all(this.#pods.map(async (p) => {
      await p.app.stop();
      await p.sidecar.stop();
    }));
    await this.#observability?.stop();
    await Promise.all([this.#control, ...this.#replicas.map((r) => r.process)].map((c) => c?.stop()));
    await Promise.all(this.#etcd.map((m) => m.stop()));
    await this.#client?.close();
    await this.#network?.teardown();
    if (this.#claimed) fs.rmSync(this.layout.meshFile, { force: true });
  }

  /** The facts other commands and tests read: addresses, pids, states. */
  meshFile(): MeshFile {
    return {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      isolation: this.#network ? 'netns' : 'none',
      control: { address: this.#controlAddress, pid: this.#control?.pid ?? null },
      ...(this.#replicas.length === 0 ? {} : { replicas: this.#replicas.map((r) => ({ address: r.address, pid: r.process?.pid ?? null })) }),
      ...(this.#etcd.length === 0 ? {} : { etcd: this.#etcd.map((m) => ({ pid: m.pid })) }),
      gateway: this.#gatewayEntry && { ...this.#gatewayEntry, proxyPid: this.#gateway?.pid ?? null, state: this.#gateway?.state ?? 'stopped' },
      workloads: this.#pods.map((p) => this.#entry(p)),
      ...(this.#observability ? { observability: { prometheus: this.#observability.prometheus, alertmanager: this.#observability.alertmanager } } : {}),
      ...(this.#egressEntry ? { egressGateway: { ...this.#egressEntry, proxyPid: this.#egress?.pid ?? null, state: this.#egress?.state ?? 'stopped' } } : {}),
    };
  }

  writeMeshFile(): void {
    if (this.#stopping || !this.#claimed) return;
    const tmp = `${this.layout.meshFile}.tmp`;
    const mesh = this.meshFile();
    fs.writeFileSync(tmp, `${JSON.stringify(mesh, null, 2)}\n`);
    fs.renameSync(tmp, this.layout.meshFile);
    // Prometheus's targets follow the mesh as workloads start, restart and stop.
    this.#observability?.follow(mesh);
  }

  #entry(p: Pod): MeshWorkloadEntry {
    const { namespace, name } = p.resource.metadata;
    return {
      name,
      namespace,
      spiffeId: this.#spiffeId(namespace, p.resource.spec.serviceAccount),
      podIP: p.podIP,
      ...(p.netns === undefined ? {} : { netns: p.netns }),
      inbound: `${p.podIP}:${SIDECAR_INBOUND_PORT}`,
      outbound: `${p.podIP}:${SIDECAR_OUTBOUND_PORT}`,
      app: p.resource.spec.ports.map((port) => `${p.podIP}:${port.containerPort}`),
      proxyPid: p.sidecar.pid,
      appPid: p.app.pid,
      restarts: p.app.restarts + p.sidecar.restarts,
      appRestarts: p.app.restarts,
      proxyRestarts: p.sidecar.restarts,
      state: p.app.state === 'running' && p.sidecar.state === 'running' ? 'Running' : p.app.state === 'restarting' || p.sidecar.state === 'restarting' ? 'Restarting' : 'Pending',
    };
  }

  #spiffeId(namespace: string, serviceAccount: string): string {
    return `spiffe://${this.mesh.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
  }

  /** etcd: the members (unless given a cluster), the sealing key, the other replicas' addresses. */
  async #startStore(host: string): Promise<void> {
    const store = this.o.store;
    if (store === undefined || store.kind === 'sqlite') return;
    const ports = await localPorts(this.layout, store, freePort);
    this.#replicas = ports.replicas.map((port) => ({ address: `${host}:${port}`, process: undefined }));
    let { endpoints, tls } = store;
    if (endpoints === undefined) {
      const started = await startLocalEtcd(this.layout, ports.etcd, this.#marked(process.env), this.o.log, () => this.#stopping);
      this.#etcd = started.members;
      ({ endpoints, tls } = started);
    }
    this.#storeArgs = ['--store', 'etcd', '--etcd-endpoints', endpoints.join(','), ...etcdTlsArgs(tls), '--sealing-key', ensureSealingKey(this.layout)];
  }

  /** Every replica's address, the first one first: what proxies are told. */
  get controlAddresses(): string[] {
    return [this.#controlAddress, ...this.#replicas.map((r) => r.address)];
  }

  /** `metrics`: where this replica serves the control-plane metrics Prometheus scrapes. */
  #controlPlaneArgs(listen: string, metrics: string | undefined): string[] {
    const args = [WEFT_BIN, 'control', '--state-dir', this.layout.root, '--listen', listen, '--trust-domain', this.mesh.trustDomain, '--root-namespace', this.mesh.rootNamespace, ...this.#storeArgs];
    // Services' virtual addresses (what pods' DNS answers) only exist where pods have a network to capture them in.
    if (this.#network) args.push('--service-cidr', this.#network.serviceSubnet.cidr);
    if (this.o.caFiles) {
      args.push('--ca-cert', this.o.caFiles.certFile, '--ca-key', this.o.caFiles.keyFile);
      if (this.o.caFiles.chainFile) args.push('--ca-chain', this.o.caFiles.chainFile);
    }
    if (this.o.historyRetentionMs !== undefined) args.push('--history-retention', `${this.o.historyRetentionMs}ms`);
    if (this.o.auditSignIntervalMs !== undefined) args.push('--audit-sign-interval', `${this.o.auditSignIntervalMs}ms`);
    if (metrics !== undefined) args.push('--metrics-listen', metrics);
    return args;
  }

  async #startReplica(listen: string, name: string, metrics: string | undefined): Promise<SupervisedProcess> {
    const control = new SupervisedProcess(
      { name, command: process.execPath, args: this.#controlPlaneArgs(listen, metrics), env: this.#marked(process.env), logFile: path.join(this.layout.logDir, `${name}.log`) },
      {
        onExit: (code, signal) => {
          if (!this.#stopping) this.o.log(`${name === 'control' ? 'control plane' : name} exited (${signal ?? code}); restarting`);
          this.writeMeshFile();
        },
        onStart: () => this.writeMeshFile(),
      },
    );
    await control.start();
    const [host, port] = listen.split(':') as [string, string];
    await waitForPort(host, Number(port), START_TIMEOUT_MS, () => control.child !== undefined);
    return control;
  }

  async #startControlPlane(): Promise<void> {
    // The first replica alone, so that it alone makes the admin credential and the shared secrets; then the rest.
    this.#control = await this.#startReplica(this.#controlAddress, 'control', this.#controlMetrics[0]);
    await Promise.all(
      this.#replicas.map(async (r, i) => {
        r.process = await this.#startReplica(r.address, `control-${i + 1}`, this.#controlMetrics[i + 1]);
      }),
    );
    this.#client = new ControlClient({
      address: this.#controlAddress,
      credential: fs.readFileSync(this.layout.adminCredentialFile, 'utf8').trim(),
      caPem: fs.readFileSync(this.layout.trustBundleFile, 'utf8'),
    });
  }

  #proxyEnv(identity: { namespace: string; name: string; serviceAccount: string }, podIP: string, token: string): NodeJS.ProcessEnv {
    return this.#marked({
      PATH: process.env['PATH'],
      WEFT_NAMESPACE: identity.namespace,
      WEFT_NAME: identity.name,
      WEFT_SERVICE_ACCOUNT: identity.serviceAccount,
      WEFT_TRUST_DOMAIN: this.mesh.trustDomain,
      WEFT_CONTROL_NAMESPACE: this.mesh.rootNamespace,
      WEFT_POD_IP: podIP,
      WEFT_CONTROL_URL: this.controlAddresses.map((a) => `https://${a}`).join(','),
      WEFT_CA_BUNDLE: this.layout.trustBundleFile,
      WEFT_BOOTSTRAP_TOKEN: token,
    });
  }

  /** Every process of this mesh carries the marker, so a later start can find what a crash left behind. */
  #marked(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...env, [MESH_MARKER]: this.layout.root, WEFT_PARENT_PID: String(process.pid) };
  }

  /** How this pod's processes enter its namespace and leave root behind; undefined on loopback. */
  #netnsPod(netns: string | undefined, podIP: string): NetnsPodContext | undefined {
    const network = this.#network;
    if (!network || !this.#drop || netns === undefined) return undefined;
    return { netns, podIP, drop: this.#drop, inPod: (pod, command, args) => network.inPod(pod, command, args) };
  }

  #pod(resource: Resource<WorkloadSpec>, podIP: string, netns: string | undefined): Pod {
    const { namespace, name } = resource.metadata;
    const spec = resource.spec;
    const identity = { namespace, name, serviceAccount: spec.serviceAccount };
    const logDir = this.layout.logDir;
    const sidecar = new SupervisedProcess(
      { name: `${name}.sidecar`, ...sidecarCommand(this.#netnsPod(netns, podIP), { command: process.execPath, args: [WEFT_BIN, 'proxy'] }), env: {}, logFile: path.join(logDir, `${namespace}.${name}.sidecar.log`) },
      {
        // Bootstrap tokens are single-use: every (re)start of a sidecar gets a fresh one.
        prepare: async (s) => {
          const env = this.#proxyEnv(identity, podIP, await this.#client!.issueToken({ namespace, serviceAccount: spec.serviceAccount, workload: name }));
          return { ...s, env: netns === undefined ? env : { ...env, ...this.#captureEnv() } };
        },
        onExit: (code, signal, restarts) => {
          this.writeMeshFile();
          if (this.#stopping) return;
          this.o.log(`sidecar of ${namespace}/${name} exited (${signal ?? code}); restart ${restarts + 1} with backoff`);
          void this.#setPhase(resource, podIP, 'Restarting', restarts + 1 + app.restarts);
        },
        // A restarted sidecar has a new pid and counts among the pod's restarts, as a container does in Kubernetes.
        onStart: (_child, restarts) => {
          if (restarts === 0) return;
          this.writeMeshFile();
          void waitForPort(podIP, SIDECAR_INBOUND_PORT, START_TIMEOUT_MS, () => sidecar.child !== undefined).then(
            () => this.#setPhase(resource, podIP, app.state === 'running' ? 'Running' : 'Restarting', restarts + app.restarts),
            (err: unknown) => this.o.log(`sidecar of ${namespace}/${name} did not start listening: ${(err as Error).message}`),
          );
        },
      },
    );
    const app = new SupervisedProcess(
      {
        name,
        ...appCommand(this.#netnsPod(netns, podIP), resource, this.o.log),
        cwd: spec.workingDir ?? process.cwd(),
        env: this.#marked({
          ...process.env,
          ...spec.env,
          POD_IP: podIP,
          POD_NAME: name,
          POD_NAMESPACE: namespace,
          SERVICE_ACCOUNT: spec.serviceAccount,
          // A netns pod's traffic is captured; only on loopback does the app need to be told where its sidecar is.
          ...(netns === undefined ? explicitProxyEnv(`http://${podIP}:${SIDECAR_OUTBOUND_PORT}`) : {}),
        }),
        logFile: path.join(logDir, `${namespace}.${name}.log`),
      },
      {
        onExit: (code, signal, restarts, error) => {
          if (this.#stopping) return;
          const why = error ? `could not be started: ${error.message}` : `exited (${signal ?? code})`;
          this.o.log(`workload ${namespace}/${name} ${why}; restart ${restarts + 1} with backoff`);
          void this.#setPhase(resource, podIP, 'Restarting', restarts + 1 + sidecar.restarts);
          this.writeMeshFile();
        },
        onStart: (_child, restarts) => {
          if (restarts === 0) return;
          this.writeMeshFile();
          void this.#whenListening(resource, podIP, netns).then(
            () => this.#setPhase(resource, podIP, sidecar.state === 'running' ? 'Running' : 'Restarting', restarts + sidecar.restarts),
            (err: unknown) => this.o.log(`workload ${namespace}/${name} did not start listening: ${(err as Error).message}`),
          );
        },
      },
    );
    return { resource, podIP, netns, sidecar, app };
  }

  async #startPod(p: Pod): Promise<void> {
    await p.sidecar.start();
    await waitForPort(p.podIP, SIDECAR_INBOUND_PORT, START_TIMEOUT_MS, () => p.sidecar.child !== undefined);
    await p.app.start();
    try {
      await this.#whenListening(p.resource, p.podIP, p.netns, () => p.app.state === 'running');
    } catch (err) {
      // One broken workload does not stop the mesh: it is reported and its supervisor keeps restarting it.
      const { namespace, name } = p.resource.metadata;
      this.o.log(`workload ${namespace}/${name} did not start listening: ${(err as Error).message}`);
      return;
    }
    await this.#setPhase(p.resource, p.podIP, 'Running', p.app.restarts + p.sidecar.restarts);
  }

  async #whenListening(resource: Resource<WorkloadSpec>, podIP: string, netns: string | undefined, isAlive?: () => boolean): Promise<void> {
    for (const port of resource.spec.ports) {
      // A captured pod's ports all answer from outside (its sidecar's inbound): ask inside the pod instead.
      if (this.#network && netns !== undefined) await this.#network.waitListening({ netns }, port.containerPort, START_TIMEOUT_MS, isAlive);
      else await waitForPort(podIP, port.containerPort, START_TIMEOUT_MS, isAlive);
    }
  }

  async #setPhase(resource: Resource<WorkloadSpec>, podIP: string, phase: 'Running' | 'Restarting', restarts: number): Promise<void> {
    const key = { kind: 'Workload', namespace: resource.metadata.namespace, name: resource.metadata.name };
    try {
      await this.#client!.setStatus(key, { phase, podIP, restarts });
    } catch (err) {
      this.o.log(`cannot record status of ${key.namespace}/${key.name}: ${(err as Error).message}`);
    }
  }

  async #startGateway(): Promise<void> {
    const namespace = this.mesh.rootNamespace;
    const gw = ingressGateway({
      // Prometheus scrapes the gateway too: its metrics listener gets a known port.
      ...(this.o.prometheus ? { adminPort: await freePort() } : {}),
      resources: this.o.resources,
      namespace,
      trustDomain: this.mesh.trustDomain,
      ingressPort: this.o.ingressPort,
      ...(this.o.publish === undefined ? {} : { publish: this.o.publish }),
      command: (hostPorts) => {
        const privileged = hostPorts.some((p) => p < unprivilegedPortStart());
        return gatewayCommand(this.#drop, privileged, { command: process.execPath, args: [WEFT_BIN, 'proxy'] });
      },
      logFile: path.join(this.layout.logDir, `${namespace}.${GATEWAY_NAME}.log`),
      proxyEnv: async (id) => {
        const env = this.#proxyEnv(id, '127.0.0.1', await this.#client!.issueToken({ namespace, serviceAccount: id.serviceAccount, workload: id.name }));
        // Without root the gateway may not read the state directory: it is given the trust bundle itself.
        return this.#drop ? { ...env, WEFT_CA_BUNDLE_PEM: fs.readFileSync(this.layout.trustBundleFile, 'utf8') } : env;
      },
      onExit: (code, signal) => {
        if (!this.#stopping) this.o.log(`ingress gateway exited (${signal ?? code}); restarting`);
        this.writeMeshFile();
      },
      onStart: () => this.writeMeshFile(),
    });
    this.#gateway = gw.process;
    this.#gatewayEntry = gw.entry;
    await gw.process.start();
    for (const [from, to] of gw.mappings) {
      this.o.log(`gateway port ${from} published on 127.0.0.1:${to}`);
      await waitForPort('127.0.0.1', to, START_TIMEOUT_MS, () => gw.process.child !== undefined);
    }
  }
  /**
   * The egress gateway (a Gateway selects `istio: egressgateway`): a pod of its own at pod index `index`, after the
   * Workloads'. Only netns pods have an address of their own to serve from; on loopback it is not started.
   */
  async #startEgressGateway(index: number): Promise<void> {
    const network = this.#network;
    if (!network || !this.#drop) {
      this.o.log('a Gateway selects istio: egressgateway; the egress gateway runs in netns mode only (--isolation=netns), so none is started');
      return;
    }
    const namespace = this.mesh.rootNamespace;
    const pod = await network.addPod(index, namespace, EGRESS_GATEWAY_NAME);
    await network.allowUnprivilegedPorts(pod);
    // No DNS proxy in this pod (nothing is captured): names resolve with the machine's resolvers, as its proxy's do.
    const resolvConf = this.#dnsUpstream.map((a) => `nameserver ${a}\n`).join('');
    network.writeResolverFiles(pod, { hosts: podHostsFile(EGRESS_GATEWAY_NAME, pod.podIP), resolvConf });
    const gw = egressGateway({
      namespace,
      trustDomain: this.mesh.trustDomain,
      podIP: pod.podIP,
      netns: pod.netns,
      inPod: (p, command, args) => network.inPod(p, command, args),
      drop: this.#drop,
      proxy: { command: process.execPath, args: [WEFT_BIN, 'proxy'] },
      logFile: path.join(this.layout.logDir, `${namespace}.${EGRESS_GATEWAY_NAME}.log`),
      proxyEnv: async (id) => {
        const env = this.#proxyEnv(id, pod.podIP, await this.#client!.issueToken({ namespace, serviceAccount: id.serviceAccount, workload: id.name }));
        // Its uid may not read the state directory: it is given the trust bundle and the resolvers it dials external hosts with.
        return { ...env, WEFT_CA_BUNDLE_PEM: fs.readFileSync(this.layout.trustBundleFile, 'utf8'), WEFT_DNS_UPSTREAM: this.#dnsUpstream.join(',') };
      },
      onExit: (code, signal) => {
        if (!this.#stopping) this.o.log(`egress gateway exited (${signal ?? code}); restarting`);
        this.writeMeshFile();
      },
      onStart: () => this.writeMeshFile(),
    });
    this.#egress = gw.process;
    this.#egressEntry = gw.entry;
    await gw.process.start();
    for (const port of egressServerPorts(this.o.resources)) {
      await network.waitListening(pod, port, START_TIMEOUT_MS, () => gw.process.child !== undefined);
      this.o.log(`egress gateway port ${port} served on ${pod.podIP}:${port}`);
    }
  }
}


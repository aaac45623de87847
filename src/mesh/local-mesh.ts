/**
 * `weft up`: the whole mesh on one machine. Order: validate every file (nothing starts on a bad one), start the
 * control plane (local-control-plane.ts), apply the resources, then each Workload as a pod (workload-pod.ts: sidecar
 * first, so the app's first outbound call finds its proxy), then the gateways (start-gateways.ts). Everything
 * started is supervised and stopped on SIGINT/SIGTERM; mesh.json follows what runs.
 */
import fs from 'node:fs';
import { gatewayHostPorts } from './ingress-gateway.js';
import { gatewayApiListenerPorts } from './gateway-api-ports.js';
import { checkHostPortsFree } from './host-ports.js';
import { wantsEgressGateway } from './egress-gateway.js';
import type { LoadedResource } from '../config/load.js';
import type { Resource } from '../config/resource.js';
import type { WorkloadSpec } from '../config/kinds/workload.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import type { MeshConfigSpec, MeshSettings } from '../config/kinds/mesh-config.js';
import type { ControlClient } from '../cli/client.js';
import { stateDirLayout } from './state-dir.js';
import type { StateDirLayout } from './state-dir.js';
import type { MeshFile } from './mesh-file.js';
import { startObservability } from './observability/observability-stack.js';
import type { ObservabilityStack } from './observability/observability-stack.js';
import { loadOrChooseRuntime, podAddress } from './pod-addresses.js';
import { freePort } from './wait-for-port.js';
import { MESH_MARKER, claimStateDir, removeLeftoverProcesses } from './leftover-processes.js';
import { waitForConvergence } from './convergence.js';
import { openPodNetwork } from './netns/index.js';
import type { Isolation, PodNetwork } from './netns/index.js';
import { missingHardening, probePrivilegeDrop } from './netns/pod-identity.js';
import type { PrivilegeDrop } from './netns/pod-identity.js';
import { capturePod, hostUpstreamNameservers } from './netns/pod-capture.js';
import { CLUSTER_DOMAIN } from '../control/registry/index.js';
import type { LocalStore } from './local-store.js';
import { LocalControlPlane } from './local-control-plane.js';
import { START_TIMEOUT_MS } from './mesh-context.js';
import type { MeshContext, ProxyIdentity } from './mesh-context.js';
import { createPod, podEntry, startPod, stopPod } from './workload-pod.js';
import type { Pod } from './workload-pod.js';
import { egressGatewayRegistration, loopbackEgress, startEgressGateway, startIngressGateway } from './start-gateways.js';
import type { StartedGateway } from './start-gateways.js';

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

export class LocalMesh implements MeshContext {
  readonly layout: StateDirLayout;
  readonly mesh: MeshSettings;
  readonly log: (line: string) => void;
  #controlPlane: LocalControlPlane | undefined;
  #controlAddress = '';
  #pods: Pod[] = [];
  #gateway: StartedGateway | undefined;
  #egress: StartedGateway | undefined;
  #stopping = false;
  /** True once this process owns the state directory: only then is mesh.json ours to write and remove. */
  #claimed = false;
  #network: PodNetwork | undefined;
  #dnsUpstream: string[] = [];
  #drop: PrivilegeDrop | undefined;
  #observability: ObservabilityStack | undefined;

  constructor(private readonly o: LocalMeshOptions) {
    this.layout = stateDirLayout(o.stateDir);
    this.log = o.log;
    const meshConfig = o.resources.find((r) => r.resource.kind === 'MeshConfig')?.resource.spec as MeshConfigSpec | undefined;
    this.mesh = meshConfigWithDefaults(meshConfig);
  }

  get controlAddress(): string {
    return this.#controlAddress;
  }

  /** Every replica's address, the first one first: what proxies are told. */
  get controlAddresses(): string[] {
    return this.#controlPlane?.addresses ?? [this.#controlAddress];
  }

  get network(): PodNetwork | undefined {
    return this.#network;
  }

  get drop(): PrivilegeDrop | undefined {
    return this.#drop;
  }

  get dnsUpstream(): readonly string[] {
    return this.#dnsUpstream;
  }

  client(): ControlClient {
    if (!this.#controlPlane) throw new Error('the control plane is not started');
    return this.#controlPlane.client;
  }

  stopping(): boolean {
    return this.#stopping;
  }

  changed(): void {
    this.writeMeshFile();
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.layout.logDir, { recursive: true, mode: 0o700 });
    claimStateDir(this.layout);
    this.#claimed = true;
    const stopped = removeLeftoverProcesses(this.layout.root);
    if (stopped > 0) this.o.log(`stopped ${stopped} processes left running by a previous weft up of ${this.layout.root}`);
    await this.#checkGatewayPorts();
    const runtime = await loadOrChooseRuntime(this.layout.runtimeFile, freePort);
    if (process.getuid?.() === 0) await this.#probePrivilegeDrop();
    if (this.o.isolation === 'netns') await this.#openNetwork();
    // Pods reach the control plane at the bridge's address: it is a host address, so local clients reach it too.
    this.#controlAddress = `${this.#network?.subnet.bridgeAddress ?? '127.0.0.1'}:${runtime.controlPort}`;
    this.#controlPlane = new LocalControlPlane(this, {
      address: this.#controlAddress,
      ...(this.o.store === undefined ? {} : { store: this.o.store }),
      ...(this.o.caFiles === undefined ? {} : { caFiles: this.o.caFiles }),
      ...(this.o.historyRetentionMs === undefined ? {} : { historyRetentionMs: this.o.historyRetentionMs }),
      ...(this.o.auditSignIntervalMs === undefined ? {} : { auditSignIntervalMs: this.o.auditSignIntervalMs }),
      metrics: this.o.prometheus !== undefined,
    });
    await this.#controlPlane.start();
    const resources = this.o.resources.map((r) => r.resource);
    const workloads = resources
      .filter((r): r is Resource<WorkloadSpec> => r.kind === 'Workload')
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    // On loopback the egress gateway's address follows the Workloads' in the pod block.
    const egressOnLoopback = await loopbackEgress(this, this.o.resources, podAddress(runtime.podBlock, workloads.length));
    const applied = await this.client().apply([...resources, ...egressGatewayRegistration(this, this.o.resources, egressOnLoopback)]);
    for (const a of applied) this.o.log(`${a.kind.toLowerCase()}/${a.name} ${a.result}`);

    if (this.#network) this.#dnsUpstream = hostUpstreamNameservers();
    for (const [i, w] of workloads.entries()) {
      const inNetns = await this.#network?.addPod(i, w.metadata.namespace, w.metadata.name);
      if (this.#network && inNetns) await capturePod(this.#network, inNetns, w.metadata, CLUSTER_DOMAIN);
      this.#pods.push(createPod(this, w, inNetns?.podIP ?? podAddress(runtime.podBlock, i), inNetns?.netns));
    }
    await Promise.all(this.#pods.map((p) => startPod(this, p)));
    // A Gateway that selects only the egress gateway does not call for an ingress gateway.
    if (resources.some((r) => r.kind === 'Gateway' && !wantsEgressGateway([r])) || gatewayApiListenerPorts(resources).length > 0) {
      const ingress = { resources: this.o.resources, ingressPort: this.o.ingressPort, scraped: this.o.prometheus !== undefined, ...(this.o.publish === undefined ? {} : { publish: this.o.publish }) };
      await startIngressGateway(this, ingress, (g) => (this.#gateway = g));
    }
    if (wantsEgressGateway(resources)) await startEgressGateway(this, this.o.resources, workloads.length, egressOnLoopback, (g) => (this.#egress = g));
    await waitForConvergence(this.client(), this.#pods.length + (this.#gateway ? 1 : 0) + (this.#egress ? 1 : 0), START_TIMEOUT_MS);
    if (this.o.prometheus) {
      this.#observability = await startObservability({
        prometheusPort: await freePort(),
        alertmanagerPort: await freePort(),
        interval: this.o.prometheus.interval,
        logDir: this.layout.logDir,
        env: this.marked(process.env),
        controlMetrics: this.#controlPlane.metricsListeners,
      });
      this.o.log(`prometheus on http://${this.#observability.prometheus}, alertmanager on http://${this.#observability.alertmanager}`);
    }
    this.writeMeshFile();
  }

  /** Before anything starts: a taken gateway port would otherwise surface only as a NACK in the gateway's log. */
  async #checkGatewayPorts(): Promise<void> {
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

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#gateway?.process.stop();
    await this.#egress?.process.stop();
    await Promise.all(this.#pods.map(stopPod));
    await this.#observability?.stop();
    await this.#controlPlane?.stop();
    await this.#network?.teardown();
    if (this.#claimed) fs.rmSync(this.layout.meshFile, { force: true });
  }

  /** The facts other commands and tests read: addresses, pids, states. */
  meshFile(): MeshFile {
    const gateway = this.#gateway;
    const egress = this.#egress;
    return {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      isolation: this.#network ? 'netns' : 'none',
      ...(this.#controlPlane?.meshFileEntries() ?? { control: { address: this.#controlAddress, pid: null } }),
      gateway: gateway ? { ...gateway.entry, proxyPid: gateway.process.pid ?? null, state: gateway.process.state } : null,
      workloads: this.#pods.map((p) => podEntry(this, p)),
      ...(this.#observability ? { observability: { prometheus: this.#observability.prometheus, alertmanager: this.#observability.alertmanager } } : {}),
      ...(egress ? { egressGateway: { ...egress.entry, proxyPid: egress.process.pid ?? null, state: egress.process.state } } : {}),
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

  proxyEnv(identity: ProxyIdentity, podIP: string, token: string): NodeJS.ProcessEnv {
    return this.marked({
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

  marked(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...env, [MESH_MARKER]: this.layout.root, WEFT_PARENT_PID: String(process.pid) };
  }
}

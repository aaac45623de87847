/**
 * The pods' network: one bridge per mesh, the host's forwarding and masquerading for traffic leaving it
 * (host-egress.ts), and per Workload a network namespace joined to the bridge by a veth pair, with an address from
 * the pod subnet, loopback up and a default route via the bridge. Every object is written to the ResourceLedger
 * before it is created, and `open` first removes whatever the ledger says a previous run left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WeftError } from '../../errors.js';
import { installCaptureRules } from './capture-rules.js';
import type { CaptureOptions } from './capture-rules.js';
import { createHostChain, forwardingClaim, hostChains, turnOnForwarding } from './host-egress.js';
import type { CommandRunner } from './ip-command.js';
import { execCommand } from './ip-command.js';
import { objectExists, removeRecorded } from './ledger-removal.js';
import { podNames } from './pod-names.js';
import type { PodNames } from './pod-names.js';
import { choosePodSubnet, DEFAULT_POD_RANGE, hostAddressesFromIpJson } from './pod-subnet.js';
import type { HostAddress, PodSubnet } from './pod-subnet.js';
import { ResourceLedger } from './resource-ledger.js';
import type { NetnsResource } from './resource-ledger.js';

export interface PodNetworkOptions {
  stateDir: string;
  /** `ip` to run (absolute path). */
  ip: string;
  /** `iptables` to run on the host (absolute path). */
  iptables: string;
  podRange?: string;
  run?: CommandRunner;
  /** Kills a process left inside one of this mesh's namespaces. */
  kill?: (pid: number) => void;
  log?: (line: string) => void;
  /** Where `ip netns exec` finds a namespace's own files (its hosts file and resolv.conf). */
  etcNetnsDir?: string;
  /** Root of the sysctl tree, where IPv4 forwarding is switched. */
  procSys?: string;
  /** Host-wide state this machine's meshes share (the forwarding value from before any of them). */
  runDir?: string;
}

/** A pod's own resolver files (pod-resolver-files.ts). */
export interface PodResolverFiles {
  hosts: string;
  resolvConf: string;
}

export interface Pod {
  netns: string;
  podIP: string;
  hostVeth: string;
}

/** The veth end inside each pod, as a container runtime names it. */
const POD_INTERFACE = 'eth0';
const ETC_NETNS = '/etc/netns';
const PROC_SYS = '/proc/sys';
const RUN_DIR = '/run/weft';
const LISTEN_POLL_MS = 100;

export class PodNetwork {
  readonly subnet: PodSubnet;
  readonly bridge: string;
  /**
   * The range the control plane gives services' virtual addresses from (what pods' DNS answers and sidecars
   * capture): a block of the pod range that neither the host nor the pods use. VIPs never leave a pod.
   */
  readonly serviceSubnet: PodSubnet;
  readonly #o: Required<Omit<PodNetworkOptions, 'podRange'>>;
  readonly #ledger: ResourceLedger;
  readonly #names: PodNames;

  private constructor(o: Required<Omit<PodNetworkOptions, 'podRange'>>, ledger: ResourceLedger, names: PodNames, subnet: PodSubnet, serviceSubnet: PodSubnet) {
    this.#o = o;
    this.#ledger = ledger;
    this.#names = names;
    this.subnet = subnet;
    this.serviceSubnet = serviceSubnet;
    this.bridge = names.bridge;
  }

  /** Removes a previous run's leftovers, chooses the subnet, creates the bridge. */
  static async open(options: PodNetworkOptions): Promise<PodNetwork> {
    const o = {
      stateDir: options.stateDir,
      ip: options.ip,
      iptables: options.iptables,
      run: options.run ?? execCommand,
      kill: options.kill ?? killProcess,
      log: options.log ?? (() => undefined),
      etcNetnsDir: options.etcNetnsDir ?? ETC_NETNS,
      procSys: options.procSys ?? PROC_SYS,
      runDir: options.runDir ?? RUN_DIR,
    };
    const ledger = new ResourceLedger(o.stateDir);
    const names = podNames(o.stateDir);
    const removed = await removeRecorded(ledger, names, o);
    if (removed > 0) o.log(`removed ${removed} network object(s) left by a previous run of this mesh`);
    const addresses = hostAddressesFromIpJson((await o.run(o.ip, ['-j', 'addr', 'show'])).stdout);
    const range = options.podRange ?? DEFAULT_POD_RANGE;
    const subnet = choosePodSubnet(range, addresses, parseInt(names.mesh, 16));
    const serviceSubnet = chooseServiceSubnet(range, [...addresses, { address: subnet.bridgeAddress, prefix: subnet.prefix }], parseInt(names.mesh, 16) + 1);
    const network = new PodNetwork(o, ledger, names, subnet, serviceSubnet);
    try {
      await network.#create({ kind: 'link', name: names.bridge }, [
        ['link', 'add', 'name', names.bridge, 'type', 'bridge'],
        ['addr', 'add', `${subnet.bridgeAddress}/${subnet.prefix}`, 'dev', names.bridge],
        ['link', 'set', names.bridge, 'up'],
      ]);
      await network.#openEgress();
    } catch (err) {
      // The caller never gets a network to tear down: what this open created (forwarding included) goes now,
      // not at the next start of this state directory, which may never come.
      await removeRecorded(ledger, names, o).catch((cleanup: unknown) => o.log(`cleanup after a failed start: ${(cleanup as Error).message}`));
      throw err;
    }
    return network;
  }

  /** Forwarding on (only if off), then the mesh's FORWARD and POSTROUTING chains, so sidecars reach the outside. */
  async #openEgress(): Promise<void> {
    const claim = forwardingClaim(this.#o);
    if (claim) {
      this.#ledger.record(claim);
      turnOnForwarding(this.#o, claim);
    }
    const chains = hostChains(`weft-${this.#names.mesh}`, this.bridge, this.subnet.cidr, { forwardingIsWeft: claim !== undefined });
    for (const chain of chains) {
      await this.#claim({ kind: chain.kind, name: chain.name });
      await createHostChain(this.#o, chain);
    }
  }

  /** Creates pod `index` (its place in the mesh's sorted workloads) for the Workload namespace/name. */
  async addPod(index: number, namespace: string, name: string): Promise<Pod> {
    const netns = this.#names.netns(namespace, name);
    const hostVeth = this.#names.hostVeth(index);
    const podIP = this.subnet.podAddress(index);
    await this.#create({ kind: 'netns', name: netns }, [['netns', 'add', netns]]);
    await this.#disableIPv6(netns);
    await this.#create({ kind: 'link', name: hostVeth }, [
      ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', POD_INTERFACE, 'netns', netns],
      ['link', 'set', hostVeth, 'master', this.bridge],
      ['link', 'set', hostVeth, 'up'],
    ]);
    for (const args of [
      ['link', 'set', 'lo', 'up'],
      ['addr', 'add', `${podIP}/${this.subnet.prefix}`, 'dev', POD_INTERFACE],
      ['link', 'set', POD_INTERFACE, 'up'],
      ['route', 'add', 'default', 'via', this.subnet.bridgeAddress],
    ]) {
      await this.#o.run(this.#o.ip, ['-n', netns, ...args]);
    }
    return { netns, podIP, hostVeth };
  }

  /**
   * Capture is IPv4 only (pods get no IPv6 address), but a namespace gives every interface an IPv6 link-local
   * address by default: pods on one bridge would reach each other's apps over fe80:: (and the host's services on
   * the bridge) with no rule in the way, around both sidecars. Off in the pod before its interface exists, so eth0
   * never gets one. A kernel without IPv6 has nothing to turn off.
   */
  async #disableIPv6(netns: string): Promise<void> {
    if (!fs.existsSync(path.join(this.#o.procSys, 'net', 'ipv6'))) return;
    await this.#o.run(this.#o.ip, ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }

  /**
   * Lets any user of this pod bind every port (`net.ipv4.ip_unprivileged_port_start` is per network namespace): an
   * egress gateway serves Gateway ports such as 80 and 443 on its pod address as it is, with no capability.
   */
  async allowUnprivilegedPorts(pod: Pick<Pod, 'netns'>): Promise<void> {
    await this.#o.run(this.#o.ip, ['netns', 'exec', pod.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_unprivileged_port_start=0']);
  }

  /** Writes the pod's /etc/hosts and /etc/resolv.conf, which `ip netns exec` mounts over the machine's in the pod. */
  writeResolverFiles(pod: Pick<Pod, 'netns'>, files: PodResolverFiles): void {
    const dir = path.join(this.#o.etcNetnsDir, pod.netns);
    this.#ledger.record({ kind: 'hosts', name: pod.netns });
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'hosts'), files.hosts, { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'resolv.conf'), files.resolvConf, { mode: 0o644 });
  }

  /** Redirects the pod's TCP through its sidecar (capture-rules.ts). */
  async capture(pod: Pick<Pod, 'netns'>, o: CaptureOptions): Promise<void> {
    this.#ledger.record({ kind: 'capture', name: pod.netns });
    await installCaptureRules(this.#o.run, this.#o.ip, pod.netns, o);
  }

  /**
   * Waits until something listens on `port` inside the pod. Probing from the host would not do: with capture on,
   * a connection from outside reaches the sidecar's inbound listener, whether or not the app is up.
   */
  async waitListening(pod: Pick<Pod, 'netns'>, port: number, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { stdout } = await this.#o.run(this.#o.ip, ['netns', 'exec', pod.netns, 'ss', '-H', '-l', '-t', '-n']);
      if (listeningPorts(stdout).has(port)) return;
      if (!isAlive()) throw new Error(`the process exited before listening on port ${port}`);
      if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} in ${pod.netns} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, LISTEN_POLL_MS));
    }
  }

  /** `command args` run inside the pod's namespace (`ip netns exec` execs in place: the pid stays the same). */
  inPod(pod: Pick<Pod, 'netns'>, command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: this.#o.ip, args: ['netns', 'exec', pod.netns, command, ...args] };
  }

  /** Removes everything this mesh created; safe to call twice. */
  async teardown(): Promise<void> {
    await removeRecorded(this.#ledger, this.#names, this.#o);
  }

  async #create(r: NetnsResource, steps: string[][]): Promise<void> {
    await this.#claim(r);
    for (const args of steps) await this.#o.run(this.#o.ip, args);
  }

  /** Records `r` before it is created; an object with its name that the ledger does not list is someone else's. */
  async #claim(r: NetnsResource): Promise<void> {
    if (!this.#ledger.has(r) && (await objectExists(r, this.#o))) {
      const what = r.kind === 'netns' ? 'network namespace' : r.kind === 'link' ? 'link' : 'iptables chain';
      throw new WeftError('NETNS_CONFLICT', `${what} ${r.name} exists but this mesh did not create it; remove it or use another state directory`);
    }
    this.#ledger.record(r);
  }
}

/**
 * VIPs never leave a pod (its sidecar captures them), but they must not shadow a real address: another block of the
 * pod range, or of the default range when a narrow pod range has no other block.
 */
function chooseServiceSubnet(range: string, taken: HostAddress[], preferred: number): PodSubnet {
  try {
    return choosePodSubnet(range, taken, preferred);
  } catch (err) {
    if (range === DEFAULT_POD_RANGE) throw err;
    return choosePodSubnet(DEFAULT_POD_RANGE, taken, preferred);
  }
}

/** Local ports in `ss -H -l -t -n` output (State Recv-Q Send-Q Local:Port Peer:Port). */
export function listeningPorts(ssOutput: string): Set<number> {
  const ports = new Set<number>();
  for (const line of ssOutput.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const port = Number(local?.slice(local.lastIndexOf(':') + 1));
    if (local && Number.isInteger(port) && port > 0) ports.add(port);
  }
  return ports;
}

function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

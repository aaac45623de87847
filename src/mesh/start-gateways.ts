/**
 * The gateways `weft up` starts: the ingress gateway (its Gateway server ports published on the host) and, when a
 * Gateway selects `istio: egressgateway`, the egress gateway (a pod of its own in netns mode, a process on free
 * loopback ports otherwise) with its Service and Workload in the registry.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LoadedResource } from '../config/load.js';
import { GATEWAY_NAME, ingressGateway, unprivilegedPortStart } from './ingress-gateway.js';
import { EGRESS_GATEWAY_NAME, egressGateway, egressServerPorts, wantsEgressGateway } from './egress-gateway.js';
import { egressGatewayPorts, egressGatewayService } from './egress-gateway-service.js';
import type { Resource } from '../config/resource.js';
import { gatewayCommand } from './pod-commands.js';
import { podHostsFile } from './netns/pod-resolver-files.js';
import { freePort, waitForPort } from './wait-for-port.js';
import { PROXY_COMMAND, START_TIMEOUT_MS } from './mesh-context.js';
import type { MeshContext } from './mesh-context.js';
import type { MeshProxyEntry } from './mesh-file.js';
import type { SupervisedProcess } from './process-supervisor.js';

export interface StartedGateway {
  process: SupervisedProcess;
  entry: MeshProxyEntry;
}

export interface IngressOptions {
  resources: LoadedResource[];
  ingressPort: number;
  publish?: ReadonlyMap<number, number>;
  /** `--prometheus`: Prometheus scrapes the gateway too, so its metrics listener gets a known port. */
  scraped: boolean;
}

/** `adopt` is told of the gateway before it starts, so that a stop during its start stops it too. */
export async function startIngressGateway(ctx: MeshContext, o: IngressOptions, adopt: (g: StartedGateway) => void): Promise<void> {
  const namespace = ctx.mesh.rootNamespace;
  const gw = ingressGateway({
    ...(o.scraped ? { adminPort: await freePort() } : {}),
    resources: o.resources,
    namespace,
    trustDomain: ctx.mesh.trustDomain,
    ingressPort: o.ingressPort,
    ...(o.publish === undefined ? {} : { publish: o.publish }),
    command: (hostPorts) => {
      const privileged = hostPorts.some((p) => p < unprivilegedPortStart());
      return gatewayCommand(ctx.drop, privileged, PROXY_COMMAND);
    },
    logFile: path.join(ctx.layout.logDir, `${namespace}.${GATEWAY_NAME}.log`),
    proxyEnv: async (id) => {
      const env = ctx.proxyEnv(id, '127.0.0.1', await ctx.client().issueToken({ namespace, serviceAccount: id.serviceAccount, workload: id.name }));
      // Without root the gateway may not read the state directory: it is given the trust bundle itself.
      return ctx.drop ? { ...env, WEFT_CA_BUNDLE_PEM: fs.readFileSync(ctx.layout.trustBundleFile, 'utf8') } : env;
    },
    onExit: (code, signal) => {
      if (!ctx.stopping()) ctx.log(`ingress gateway exited (${signal ?? code}); restarting`);
      ctx.changed();
    },
    onStart: () => ctx.changed(),
  });
  adopt({ process: gw.process, entry: gw.entry });
  await gw.process.start();
  for (const [from, to] of gw.mappings) {
    ctx.log(`gateway port ${from} published on 127.0.0.1:${to}`);
    await waitForPort('127.0.0.1', to, START_TIMEOUT_MS, () => gw.process.child !== undefined);
  }
}

/** Where the egress gateway serves on loopback: an address of the pod block and a free port per server port. */
export interface LoopbackEgress {
  address: string;
  publish: ReadonlyMap<number, number>;
}

/** On loopback, the address and free ports the egress gateway will serve on (chosen before its registration). */
export async function loopbackEgress(ctx: MeshContext, resources: LoadedResource[], address: string): Promise<LoopbackEgress | undefined> {
  if (ctx.network || !wantsEgressGateway(resources.map((r) => r.resource))) return undefined;
  const publish = new Map<number, number>();
  for (const p of egressGatewayPorts(resources)) publish.set(p.number, await freePort());
  return { address, publish };
}

/**
 * What the registry needs of the egress gateway (its Service and Workload), applied in the same batch as the mesh's
 * resources so that routes and rules naming `istio-egressgateway.<root>.svc.cluster.local` are admitted. On loopback
 * its endpoint's ports are the free loopback ports it serves on.
 */
export function egressGatewayRegistration(ctx: MeshContext, resources: LoadedResource[], loopback: LoopbackEgress | undefined): Resource[] {
  if (!wantsEgressGateway(resources.map((r) => r.resource))) return [];
  if (ctx.network && !ctx.drop) return [];
  const registered = egressGatewayService(ctx.mesh.rootNamespace, egressGatewayPorts(resources), PROXY_COMMAND, loopback?.publish);
  return [registered.service, registered.workload];
}

/**
 * The egress gateway: a pod of its own at pod index `index`, after the Workloads', in netns mode; on loopback a
 * process beside the sidecars serving each server port on a free loopback port (`loopback`). `adopt` as for the
 * ingress gateway.
 */
export async function startEgressGateway(ctx: MeshContext, resources: LoadedResource[], index: number, loopback: LoopbackEgress | undefined, adopt: (g: StartedGateway) => void): Promise<void> {
  const { network, drop } = ctx;
  if (!network && loopback !== undefined) {
    await startLoopbackEgress(ctx, loopback, egressServerPorts(resources), adopt);
    return;
  }
  if (!network || !drop) return;
  const namespace = ctx.mesh.rootNamespace;
  const pod = await network.addPod(index, namespace, EGRESS_GATEWAY_NAME);
  await network.allowUnprivilegedPorts(pod);
  // No DNS proxy in this pod (nothing is captured): names resolve with the machine's resolvers, as its proxy's do.
  const resolvConf = ctx.dnsUpstream.map((a) => `nameserver ${a}\n`).join('');
  network.writeResolverFiles(pod, { hosts: podHostsFile(EGRESS_GATEWAY_NAME, pod.podIP), resolvConf });
  // Its Service and Workload were applied with the mesh's resources (egressGatewayRegistration); the pod's address
  // makes the endpoint once the gateway serves.
  const key = { kind: 'Workload', namespace, name: EGRESS_GATEWAY_NAME };
  let restarts = 0;
  const setPhase = (phase: 'Running' | 'Restarting'): void => {
    ctx.client().setStatus(key, { phase, podIP: pod.podIP, restarts }).catch((err: unknown) => ctx.log(`cannot record status of ${namespace}/${EGRESS_GATEWAY_NAME}: ${(err as Error).message}`));
  };
  const gw = egressGateway({
    namespace,
    trustDomain: ctx.mesh.trustDomain,
    podIP: pod.podIP,
    netns: pod.netns,
    inPod: (p, command, args) => network.inPod(p, command, args),
    drop,
    proxy: PROXY_COMMAND,
    logFile: path.join(ctx.layout.logDir, `${namespace}.${EGRESS_GATEWAY_NAME}.log`),
    proxyEnv: async (id) => {
      const env = ctx.proxyEnv(id, pod.podIP, await ctx.client().issueToken({ namespace, serviceAccount: id.serviceAccount, workload: id.name }));
      // Its uid may not read the state directory: it is given the trust bundle and the resolvers it dials external hosts with.
      return { ...env, WEFT_CA_BUNDLE_PEM: fs.readFileSync(ctx.layout.trustBundleFile, 'utf8'), WEFT_DNS_UPSTREAM: ctx.dnsUpstream.join(',') };
    },
    onExit: (code, signal) => {
      if (!ctx.stopping()) {
        ctx.log(`egress gateway exited (${signal ?? code}); restarting`);
        restarts += 1;
        setPhase('Restarting');
      }
      ctx.changed();
    },
    onStart: () => {
      if (restarts > 0) setPhase('Running');
      ctx.changed();
    },
  });
  adopt({ process: gw.process, entry: gw.entry });
  await gw.process.start();
  for (const port of egressServerPorts(resources)) {
    await network.waitListening(pod, port, START_TIMEOUT_MS, () => gw.process.child !== undefined);
    ctx.log(`egress gateway port ${port} served on ${pod.podIP}:${port}`);
  }
  // Only now is the endpoint ready: sidecars send to it once it serves.
  setPhase('Running');
}

/** Records the gateway's address in its Workload's status: Running once it serves, Restarting while it restarts. */
function statusRecorder(ctx: MeshContext, podIP: string): { set: (phase: 'Running' | 'Restarting') => void; restarted: () => number } {
  const namespace = ctx.mesh.rootNamespace;
  const key = { kind: 'Workload', namespace, name: EGRESS_GATEWAY_NAME };
  let restarts = 0;
  return {
    set: (phase) => {
      if (phase === 'Restarting') restarts += 1;
      ctx.client().setStatus(key, { phase, podIP, restarts }).catch((err: unknown) => ctx.log(`cannot record status of ${namespace}/${EGRESS_GATEWAY_NAME}: ${(err as Error).message}`));
    },
    restarted: () => restarts,
  };
}

async function startLoopbackEgress(ctx: MeshContext, loopback: LoopbackEgress, serverPorts: readonly number[], adopt: (g: StartedGateway) => void): Promise<void> {
  const namespace = ctx.mesh.rootNamespace;
  const status = statusRecorder(ctx, loopback.address);
  const gw = egressGateway({
    namespace,
    trustDomain: ctx.mesh.trustDomain,
    podIP: loopback.address,
    netns: undefined,
    inPod: (_p, command, args) => ({ command, args: [...args] }),
    drop: ctx.drop,
    publish: loopback.publish,
    proxy: PROXY_COMMAND,
    logFile: path.join(ctx.layout.logDir, `${namespace}.${EGRESS_GATEWAY_NAME}.log`),
    proxyEnv: async (id) => {
      const env = ctx.proxyEnv(id, loopback.address, await ctx.client().issueToken({ namespace, serviceAccount: id.serviceAccount, workload: id.name }));
      // Without root the gateway may not read the state directory: it is given the trust bundle itself.
      return ctx.drop ? { ...env, WEFT_CA_BUNDLE_PEM: fs.readFileSync(ctx.layout.trustBundleFile, 'utf8') } : env;
    },
    onExit: (code, signal) => {
      if (!ctx.stopping()) {
        ctx.log(`egress gateway exited (${signal ?? code}); restarting`);
        status.set('Restarting');
      }
      ctx.changed();
    },
    onStart: () => {
      if (status.restarted() > 0) status.set('Running');
      ctx.changed();
    },
  });
  adopt({ process: gw.process, entry: gw.entry });
  await gw.process.start();
  // Istio's default service ports (80, 443) are listened on only when some Gateway server names them.
  for (const port of serverPorts) {
    const served = loopback.publish.get(port) ?? port;
    await waitForPort(loopback.address, served, START_TIMEOUT_MS, () => gw.process.child !== undefined);
    ctx.log(`egress gateway port ${port} served on ${loopback.address}:${served}`);
  }
  status.set('Running');
}

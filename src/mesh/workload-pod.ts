/**
 * One Workload of `weft up` as a pod: its sidecar and its app, each supervised and restarted with backoff, their
 * phase recorded in the Workload's status, and its entry in mesh.json. In netns mode both run in the pod's network
 * namespace without root; on loopback the app is told where its sidecar's outbound listener is.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '../config/resource.js';
import type { WorkloadSpec } from '../config/kinds/workload.js';
import { SIDECAR_INBOUND_PORT, SIDECAR_OUTBOUND_PORT } from '../proxyconfig/types.js';
import { SupervisedProcess } from './process-supervisor.js';
import { waitForPort } from './wait-for-port.js';
import { appCommand, sidecarCommand } from './pod-commands.js';
import type { NetnsPodContext } from './pod-commands.js';
import { explicitProxyEnv } from './explicit-proxy-env.js';
import { sidecarCaptureEnv } from './netns/pod-capture.js';
import { PROXY_COMMAND, START_TIMEOUT_MS, spiffeId } from './mesh-context.js';
import type { MeshContext } from './mesh-context.js';
import type { MeshWorkloadEntry } from './mesh-file.js';

export interface Pod {
  resource: Resource<WorkloadSpec>;
  podIP: string;
  netns: string | undefined;
  sidecar: SupervisedProcess;
  app: SupervisedProcess;
}

/** How this pod's processes enter its namespace and leave root behind; undefined on loopback. */
function netnsPod(ctx: MeshContext, netns: string | undefined, podIP: string): NetnsPodContext | undefined {
  const { network, drop } = ctx;
  if (!network || !drop || netns === undefined) return undefined;
  return { netns, podIP, drop, inPod: (pod, command, args) => network.inPod(pod, command, args) };
}

/** netns pods: what a sidecar under its own uid needs to capture and answer DNS. */
function captureEnv(ctx: MeshContext): NodeJS.ProcessEnv {
  return sidecarCaptureEnv({ trustBundlePem: fs.readFileSync(ctx.layout.trustBundleFile, 'utf8'), dnsUpstream: [...ctx.dnsUpstream] });
}

export function createPod(ctx: MeshContext, resource: Resource<WorkloadSpec>, podIP: string, netns: string | undefined): Pod {
  const { namespace, name } = resource.metadata;
  const spec = resource.spec;
  const identity = { namespace, name, serviceAccount: spec.serviceAccount };
  const logDir = ctx.layout.logDir;
  const inPod = netnsPod(ctx, netns, podIP);
  const sidecar = new SupervisedProcess(
    { name: `${name}.sidecar`, ...sidecarCommand(inPod, PROXY_COMMAND), env: {}, logFile: path.join(logDir, `${namespace}.${name}.sidecar.log`) },
    {
      // Bootstrap tokens are single-use: every (re)start of a sidecar gets a fresh one.
      prepare: async (s) => {
        const env = ctx.proxyEnv(identity, podIP, await ctx.client().issueToken({ namespace, serviceAccount: spec.serviceAccount, workload: name }));
        return { ...s, env: netns === undefined ? env : { ...env, ...captureEnv(ctx) } };
      },
      onExit: (code, signal, restarts) => {
        ctx.changed();
        if (ctx.stopping()) return;
        ctx.log(`sidecar of ${namespace}/${name} exited (${signal ?? code}); restart ${restarts + 1} with backoff`);
        void setPhase(ctx, resource, podIP, 'Restarting', restarts + 1 + app.restarts);
      },
      // A restarted sidecar has a new pid and counts among the pod's restarts, as a container does in Kubernetes.
      onStart: (_child, restarts) => {
        if (restarts === 0) return;
        ctx.changed();
        void waitForPort(podIP, SIDECAR_INBOUND_PORT, START_TIMEOUT_MS, () => sidecar.child !== undefined).then(
          () => setPhase(ctx, resource, podIP, app.state === 'running' ? 'Running' : 'Restarting', restarts + app.restarts),
          (err: unknown) => ctx.log(`sidecar of ${namespace}/${name} did not start listening: ${(err as Error).message}`),
        );
      },
    },
  );
  const app = new SupervisedProcess(
    {
      name,
      ...appCommand(inPod, resource, ctx.log),
      cwd: spec.workingDir ?? process.cwd(),
      env: ctx.marked({
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
        if (ctx.stopping()) return;
        const why = error ? `could not be started: ${error.message}` : `exited (${signal ?? code})`;
        ctx.log(`workload ${namespace}/${name} ${why}; restart ${restarts + 1} with backoff`);
        void setPhase(ctx, resource, podIP, 'Restarting', restarts + 1 + sidecar.restarts);
        ctx.changed();
      },
      onStart: (_child, restarts) => {
        if (restarts === 0) return;
        ctx.changed();
        void whenListening(ctx, resource, podIP, netns).then(
          () => setPhase(ctx, resource, podIP, sidecar.state === 'running' ? 'Running' : 'Restarting', restarts + sidecar.restarts),
          (err: unknown) => ctx.log(`workload ${namespace}/${name} did not start listening: ${(err as Error).message}`),
        );
      },
    },
  );
  return { resource, podIP, netns, sidecar, app };
}

/** Sidecar first, so the app's first outbound call finds its proxy; then the app, until its ports listen. */
export async function startPod(ctx: MeshContext, p: Pod): Promise<void> {
  await p.sidecar.start();
  await waitForPort(p.podIP, SIDECAR_INBOUND_PORT, START_TIMEOUT_MS, () => p.sidecar.child !== undefined);
  await p.app.start();
  try {
    await whenListening(ctx, p.resource, p.podIP, p.netns, () => p.app.state === 'running');
  } catch (err) {
    // One broken workload does not stop the mesh: it is reported and its supervisor keeps restarting it.
    const { namespace, name } = p.resource.metadata;
    ctx.log(`workload ${namespace}/${name} did not start listening: ${(err as Error).message}`);
    return;
  }
  await setPhase(ctx, p.resource, p.podIP, 'Running', p.app.restarts + p.sidecar.restarts);
}

export async function stopPod(p: Pod): Promise<void> {
  await p.app.stop();
  await p.sidecar.stop();
}

export function podEntry(ctx: MeshContext, p: Pod): MeshWorkloadEntry {
  const { namespace, name } = p.resource.metadata;
  return {
    name,
    namespace,
    spiffeId: spiffeId(ctx.mesh, namespace, p.resource.spec.serviceAccount),
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

async function whenListening(ctx: MeshContext, resource: Resource<WorkloadSpec>, podIP: string, netns: string | undefined, isAlive?: () => boolean): Promise<void> {
  for (const port of resource.spec.ports) {
    // A captured pod's ports all answer from outside (its sidecar's inbound): ask inside the pod instead.
    if (ctx.network && netns !== undefined) await ctx.network.waitListening({ netns }, port.containerPort, START_TIMEOUT_MS, isAlive);
    else await waitForPort(podIP, port.containerPort, START_TIMEOUT_MS, isAlive);
  }
}

async function setPhase(ctx: MeshContext, resource: Resource<WorkloadSpec>, podIP: string, phase: 'Running' | 'Restarting', restarts: number): Promise<void> {
  const key = { kind: 'Workload', namespace: resource.metadata.namespace, name: resource.metadata.name };
  try {
    await ctx.client().setStatus(key, { phase, podIP, restarts });
  } catch (err) {
    ctx.log(`cannot record status of ${key.namespace}/${key.name}: ${(err as Error).message}`);
  }
}

/**
 * Faults done to a running `weft up` mesh, each returning what shows it really happened and that the mesh came
 * back: certificates rotating (the serials the sidecars serve), the control plane killed (its new pid, the
 * proxies reconnected to it), a config every proxy refuses (the NACKs, the last good config kept), an app killed
 * (its new process listening, its endpoint back in every proxy). The steady load that measures what each costs
 * runs beside them (phased-load.ts).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ControlClient } from '../src/cli/client.js';
import type { ProxyStatus } from '../src/control/push-server.js';
import { spiffeIdOfPeer } from '../src/identity/tls-peer.js';
import type { MeshFile, MeshWorkloadEntry } from '../src/mesh/mesh-file.js';
import { processAlive } from '../src/mesh/process-alive.js';
import { stateDirLayout } from '../src/mesh/state-dir.js';

const execFileAsync = promisify(execFile);

/** A running mesh as these faults need it: its state, and the CLI against it. */
export interface FaultableMesh {
  stateDir: string;
  mesh(): MeshFile;
  weft(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface ServedCertificate {
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

const POLL_MS = 200;

/** Poll `fn` until it returns a value (not undefined), or fail naming `what` after `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(POLL_MS);
  }
}

/**
 * The certificate a sidecar's inbound listener serves now: a TLS handshake that trusts only the mesh's bundle and
 * the workload's SPIFFE ID. The listener then refuses this caller (it has no client certificate), which is fine:
 * the server's certificate has arrived by then.
 */
export function servedCertificate(stateDir: string, w: MeshWorkloadEntry): Promise<ServedCertificate> {
  const [host, port] = w.inbound.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(port),
      // The listener serves the workload's one certificate whatever the SNI names; this is Istio's form of it.
      servername: `outbound_.0_._.${w.name}.${w.namespace}.svc.cluster.local`,
      ca: fs.readFileSync(stateDirLayout(stateDir).trustBundleFile, 'utf8'),
      minVersion: 'TLSv1.3',
      checkServerIdentity: (_h, cert) => {
        const id = spiffeIdOfPeer(cert);
        return id === w.spiffeId ? undefined : new Error(`${w.inbound} served ${id ?? 'no SPIFFE ID'}, expected ${w.spiffeId}`);
      },
    });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no TLS handshake from ${w.inbound} in 5 s`)));
    socket.once('secureConnect', () => {
      const c = socket.getPeerCertificate();
      socket.destroy();
      resolve({ serialNumber: c.serialNumber, notBefore: new Date(c.valid_from).toISOString(), notAfter: new Date(c.valid_to).toISOString() });
    });
    socket.once('error', reject);
  });
}

export async function proxyStatuses(stateDir: string): Promise<ProxyStatus[]> {
  const client = await ControlClient.fromStateDir(stateDir);
  try {
    return (await client.proxies()) as ProxyStatus[];
  } finally {
    await client.close();
  }
}

const synced = (p: ProxyStatus): boolean => p.connected && p.sentVersion !== null && p.sentVersion === p.ackedVersion;

export interface RotationEvidence {
  /** Per workload, every distinct certificate its inbound listener served, oldest first. */
  served: Record<string, ServedCertificate[]>;
}

/**
 * Watch the certificates every sidecar serves for at least `minMs` and until each has rotated `rotations` times
 * (a new serial with a later notBefore).
 */
export async function watchRotations(m: FaultableMesh, o: { minMs: number; rotations: number; timeoutMs: number }): Promise<RotationEvidence> {
  const started = Date.now();
  const served: Record<string, ServedCertificate[]> = {};
  const workloads = m.mesh().workloads;
  await until(
    `every sidecar to serve ${o.rotations + 1} distinct certificates`,
    async () => {
      for (const w of workloads) {
        const seen = (served[w.name] ??= []);
        const c = await servedCertificate(m.stateDir, w);
        if (seen.at(-1)?.serialNumber !== c.serialNumber) seen.push(c);
      }
      const done = Date.now() - started >= o.minMs && workloads.every((w) => (served[w.name]?.length ?? 0) > o.rotations);
      return done ? true : undefined;
    },
    o.timeoutMs,
  );
  return { served };
}

export interface ControlRestartEvidence {
  killedPid: number;
  newPid: number;
  /** From the kill to the new control plane process. */
  restartedMs: number;
  /** From the kill to every proxy connected to the new process with its config acknowledged. */
  reconnectedMs: number;
  proxies: string[];
}

/** SIGKILL the control plane; `weft up` restarts it; wait until every proxy is back on the new one, in sync. */
export async function killControlPlane(m: FaultableMesh, timeoutMs: number): Promise<ControlRestartEvidence> {
  const before = (await proxyStatuses(m.stateDir)).map((p) => p.id).sort();
  const killedPid = m.mesh().control.pid;
  if (killedPid === null || !processAlive(killedPid)) throw new Error('the control plane is not running');
  const killedAt = Date.now();
  process.kill(killedPid, 'SIGKILL');
  const newPid = await until(
    'the control plane restarted',
    () => {
      const pid = m.mesh().control.pid;
      return pid !== null && pid !== killedPid && processAlive(pid) ? pid : undefined;
    },
    timeoutMs,
  );
  const restartedMs = Date.now() - killedAt;
  // The restarted control plane knows only the proxies that connected to it, so every one listed has reconnected.
  const proxies = await until(
    'every proxy reconnected and in sync',
    async () => {
      const now = await proxyStatuses(m.stateDir);
      const ids = now.map((p) => p.id).sort();
      return ids.join() === before.join() && now.every(synced) ? ids : undefined;
    },
    timeoutMs,
  );
  return { killedPid, newPid, restartedMs, reconnectedMs: Date.now() - killedAt, proxies };
}

export interface NackEvidence {
  /** Per proxy: the reason it gave, and the version it kept serving. */
  nacks: Record<string, { reason: string; keptVersion: string | null }>;
  /** `weft status` as a person reads it while the config is refused. */
  statusText: string;
}

/**
 * Apply `yaml`, which every proxy must refuse; wait until each has NACKed exactly the version it was sent while
 * keeping the version it had acknowledged before.
 */
export async function applyRefusedConfig(m: FaultableMesh, yaml: string, timeoutMs: number): Promise<NackEvidence> {
  const before = new Map((await proxyStatuses(m.stateDir)).map((p) => [p.id, p.ackedVersion]));
  const applied = await m.weft(['apply', '-f', '-'], yaml);
  if (applied.code !== 0) throw new Error(`weft apply refused the config the proxies should refuse: ${applied.stderr}`);
  const nacks = await until(
    'every proxy to NACK the new config',
    async () => {
      const now = await proxyStatuses(m.stateDir);
      const refused = now.filter((p) => p.lastNack !== null && p.lastNack.version === p.sentVersion && p.sentVersion !== before.get(p.id));
      if (refused.length !== before.size) return undefined;
      return Object.fromEntries(refused.map((p) => [p.id, { reason: p.lastNack!.reason, keptVersion: p.ackedVersion }]));
    },
    timeoutMs,
  );
  const status = await m.weft(['status']);
  return { nacks, statusText: status.stdout };
}

/** Apply `yaml` and wait until every proxy has acknowledged what it was sent. */
export async function applyAndSync(m: FaultableMesh, yaml: string, timeoutMs: number): Promise<void> {
  const applied = await m.weft(['apply', '-f', '-'], yaml);
  if (applied.code !== 0) throw new Error(`weft apply: ${applied.stderr}`);
  await until('every proxy in sync', async () => ((await proxyStatuses(m.stateDir)).every(synced) ? true : undefined), timeoutMs);
}

export interface AppRestartEvidence {
  workload: string;
  killedPid: number;
  newPid: number;
  /** From the kill to a new app process. */
  restartedMs: number;
  /** From the kill to the new process accepting connections on its port. */
  listeningMs: number;
  /**
   * From the kill to every proxy acknowledging its config from before the kill again. `weft up` marks a workload
   * Restarting when its app exits, which takes its endpoint out of every config (as Kubernetes takes a pod that is
   * not ready out of its Service's endpoints), and Running once the new process listens, which puts it back.
   */
  endpointsBackMs: number;
}

/**
 * SIGKILL a workload's app; `weft up` restarts it; wait until the new process accepts connections and every proxy
 * has its endpoint again.
 */
export async function killApp(m: FaultableMesh, name: string, timeoutMs: number): Promise<AppRestartEvidence> {
  const entry = (): MeshWorkloadEntry | undefined => m.mesh().workloads.find((w) => w.name === name);
  const killedPid = entry()?.appPid ?? null;
  if (killedPid === null || !processAlive(killedPid)) throw new Error(`the app of ${name} is not running`);
  const versions = new Map((await proxyStatuses(m.stateDir)).map((p) => [p.id, p.ackedVersion]));
  const killedAt = Date.now();
  process.kill(killedPid, 'SIGKILL');
  const newPid = await until(
    `a new app process for ${name}`,
    () => {
      const pid = entry()?.appPid ?? null;
      return pid !== null && pid !== killedPid && processAlive(pid) ? pid : undefined;
    },
    timeoutMs,
  );
  const restartedMs = Date.now() - killedAt;
  const [host, port] = (entry()?.app[0] ?? '').split(':') as [string, string];
  await until(`${name} listening on ${host}:${port}`, async () => ((await accepts(host, Number(port))) ? true : undefined), timeoutMs);
  const listeningMs = Date.now() - killedAt;
  await until(
    `every proxy back on the config it had before ${name} was killed`,
    async () => {
      const now = await proxyStatuses(m.stateDir);
      return now.length === versions.size && now.every((p) => synced(p) && p.ackedVersion === versions.get(p.id)) ? true : undefined;
    },
    timeoutMs,
  );
  return { workload: name, killedPid, newPid, restartedMs, listeningMs, endpointsBackMs: Date.now() - killedAt };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** MeshConfig with `spec` (YAML flow mapping body) and nothing else. */
function meshConfig(spec: string): string {
  return `apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: mesh, namespace: weft-system }\nspec: { ${spec} }\n`;
}

/** 10 s certificates: every proxy renews at half-life, so each rotates every 5 s. */
export const ROTATING_MESH_CONFIG = meshConfig('certificateTTL: 10s');

/**
 * The same, plus a config that passes the control plane's validation but that every proxy must refuse: an ext-authz
 * provider with `timeout: 0s` is a valid duration to the MeshConfig schema, while the ProxyConfig schema every proxy
 * checks wants a timeout of at least 1 ms. Every proxy gets the mesh's providers, so every one NACKs.
 */
export const REFUSED_MESH_CONFIG = meshConfig(
  'certificateTTL: 10s, extensionProviders: [{ name: frozen, envoyExtAuthzHttp: { service: authz.default.svc.cluster.local, port: 9000, timeout: 0s } }]',
);

/**
 * The local ports of the TCP connections open to `to`'s inbound listener, from `ss`: with one caller, its sidecar's
 * upstream pool (loopback connections all leave from 127.0.0.1, so the caller cannot be told by address). The same
 * ports before and after a rotation mean the pooled connections outlived the certificates they were opened with.
 */
export async function pooledConnections(to: MeshWorkloadEntry): Promise<number[]> {
  const { stdout } = await execFileAsync('ss', ['-tnH', 'state', 'established', 'dst', to.inbound]);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[2]?.split(':').at(-1))
    .filter((p): p is string => p !== undefined && p !== '')
    .map(Number)
    .sort((a, b) => a - b);
}

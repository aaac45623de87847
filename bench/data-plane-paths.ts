/**
 * The three paths of the data-plane bench, started and pinned: the bench mesh (bench/bench-mesh.yaml) with its
 * upstream nginx, and the nginx sidecar pair in front of the same upstream. `up` starts the mesh, so a caller may run
 * another checkout's weft (its bench/weft-mesh.js) against the same nginx pair code.
 */
import path from 'node:path';
import { freeListenPort } from './listen-port.js';
import { weftUp } from './weft-mesh.js';
import type { WeftUp } from './weft-mesh.js';
import { startNginxPair } from './nginx-pair.js';
import type { NginxPair } from './nginx-pair.js';
import { childPids, pinToCpu } from './proc-stats.js';
import { cpuLayout } from './cpu-layout.js';

export type PathName = 'direct' | 'weft' | 'nginx';

export interface PathSetup {
  name: PathName;
  url: string;
  host?: string;
  h2: { url: string } | { unsupported: string };
  sidecars: { role: 'client' | 'server'; pid: number }[];
}

export interface DataPlanePaths {
  paths: PathSetup[];
  /** The core the load generator runs on (undefined: not pinned). */
  loadCpu: number | undefined;
  pinning: string;
  stop(): Promise<void>;
}

export type MeshStarter = (manifests: string[], stateDir: string) => Promise<WeftUp>;

export async function startDataPlanePaths(workDir: string, log: (line: string) => void, up: MeshStarter = weftUp): Promise<DataPlanePaths> {
  const { loadCpu, clientCpu, serverCpu, pinning: layout } = cpuLayout();
  let mesh: WeftUp | undefined;
  let pair: NginxPair | undefined;
  const stop = async (): Promise<void> => {
    await pair?.stop();
    await mesh?.stop();
  };
  try {
    log('starting weft up bench/bench-mesh.yaml');
    mesh = await up([path.join('bench', 'bench-mesh.yaml')], path.join(workDir, 'state'));
    const m = mesh.mesh();
    const upstream = m.workloads.find((w) => w.name === 'upstream');
    const client = m.workloads.find((w) => w.name === 'client');
    if (!upstream?.appPid || !upstream.proxyPid || !client?.proxyPid) throw new Error('bench mesh lacks the upstream or client pod');
    const upstreamNginx = childPids(upstream.appPid)[0];
    if (upstreamNginx === undefined) throw new Error('the upstream pod runs no nginx');
    const appAddress = `${upstream.podIP}:8080`;
    pair = await startNginxPair({
      dir: path.join(workDir, 'nginx-pair'),
      caDir: path.join(mesh.stateDir, 'ca'),
      trustDomain: 'cluster.local',
      app: appAddress,
      ports: [await freeListenPort(), await freeListenPort(), await freeListenPort()],
    });
    if (loadCpu !== undefined) pinToCpu(upstreamNginx, loadCpu);
    if (clientCpu !== undefined && serverCpu !== undefined) {
      pinToCpu(client.proxyPid, clientCpu);
      pinToCpu(upstream.proxyPid, serverCpu);
      pinToCpu(pair.clientPid, clientCpu);
      pinToCpu(pair.serverPid, serverCpu);
    }
    const paths: PathSetup[] = [
      { name: 'direct', url: `http://${appAddress}/`, h2: { url: `http://${upstream.podIP}:8081/` }, sidecars: [] },
      {
        name: 'weft',
        url: `http://${client.outbound}/`,
        host: 'upstream:8000',
        // h2c with prior knowledge to the same listener; :authority names the service, as Host does for wrk.
        h2: { url: `http://${client.outbound}/` },
        sidecars: [
          { role: 'client', pid: client.proxyPid },
          { role: 'server', pid: upstream.proxyPid },
        ],
      },
      {
        name: 'nginx',
        url: pair.clientUrl,
        h2: { url: pair.clientH2Url },
        sidecars: [
          { role: 'client', pid: pair.clientPid },
          { role: 'server', pid: pair.serverPid },
        ],
      },
    ];
    return { paths, loadCpu, pinning: layout.replace(/upstream on/, 'upstream nginx on'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

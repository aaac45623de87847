/** `<state-dir>/mesh.json`: what `weft up` tells every other command (and tests) about the running mesh. */
export interface MeshFile {
  /** The process of `weft up` itself. */
  pid: number;
  startedAt: string;
  isolation: 'none' | 'netns';
  control: { address: string; pid: number | null };
  /** `--store etcd` with replicas: the control-plane replicas after the first. */
  replicas?: { address: string; pid: number | null }[];
  /** `--store etcd` without given endpoints: the etcd members this mesh runs. */
  etcd?: { pid: number | null }[];
  gateway: MeshProxyEntry | null;
  /** The egress gateway's pod, when a Gateway selects `istio: egressgateway` (netns mode). */
  egressGateway?: MeshProxyEntry | null;
  workloads: MeshWorkloadEntry[];
  /** `weft up --prometheus`: where Prometheus and Alertmanager listen (host:port). */
  observability?: { prometheus: string; alertmanager: string };
}

export interface MeshProxyEntry {
  name: string;
  namespace: string;
  spiffeId: string;
  podIP: string;
  /** isolation netns: the pod's network namespace (`ip netns exec NAME ...`). */
  netns?: string;
  /** Sidecar inbound (mTLS) listener, host:port. */
  inbound: string;
  /** Sidecar outbound (HTTP proxy) listener, host:port. */
  outbound: string;
  /** Gateway only, when known: its metrics and readiness listener, host:port. */
  admin?: string;
  /** Gateway only: published listeners, server port → host:port. */
  listeners?: Record<string, string>;
  proxyPid: number | null;
  state: string;
}

export interface MeshWorkloadEntry extends MeshProxyEntry {
  /** host:port of each app port. */
  app: string[];
  appPid: number | null;
  /** The pod's restarts, app and sidecar together (what `weft get workload` shows as RESTARTS, as kubectl sums containers'). */
  restarts: number;
  appRestarts: number;
  proxyRestarts: number;
}

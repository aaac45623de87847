/**
 * The endpoint of one opaque connection, as Envoy's tcp_proxy takes it from its cluster: the destination's cluster
 * (its subset; none known: `NR`), the cluster's circuit breaker (a connection beyond `maxConnections` waits for one
 * to close, up to `http1MaxPendingRequests` waiting; beyond that, or beyond `http2MaxRequests` open: `UO`), a host
 * from the balancer over the hosts outlier detection has not ejected (none: `UH`), one connect attempt within the
 * cluster's `connectTimeout` (failed: `UF`, reported to outlier detection as a local-origin failure; a connect that
 * succeeds is a final local-origin success, as tcp_proxy reports it). The lease holds the host's and the breaker's
 * counts until `release()`, when the next waiting connection takes the slot.
 *
 * State comes from the EndpointRegistry, so it outlives pushes; connections waiting on a cluster are kept beside
 * its runtime (a WeakMap), so every listener of the proxy waits in one queue.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClusterBinding, CompiledProxyConfig } from '../config/compiled-config.js';
import type { ClusterRuntime, EndpointState } from '../balance/cluster-runtime.js';
import type { EndpointRegistry } from '../balance/endpoint-registry.js';
import type { PickContext } from '../balance/balancer.js';
import type { Endpoint } from '../../proxyconfig/types.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { connectMtls } from '../upstream/mtls-connect.js';
import { endpointMtls } from '../upstream/upstream-target.js';
import { prefaceFor } from '../upstream/endpoint-pools.js';
import { openHttpTunnel } from '../upstream/http-tunnel.js';
import type { ProxiedConnection } from '../upstream/proxy-protocol.js';
import { connectPlain } from '../upstream/plain-connect.js';
import type { L4Destination } from './l4-destination.js';
import type { TunnelLimits } from '../upstream/mesh-tunnel.js';

export type TcpFailureFlag = 'NR' | 'UO' | 'UH' | 'UF';

export interface TcpLease {
  /** The connection to the endpoint, or the HTTP tunnel opened on it (DestinationRule `tunnel`). */
  readonly upstream: Duplex;
  readonly endpoint: Endpoint;
  readonly cluster: string;
  /** The cluster's `connectionPool.tcp` limits for the tunnel (idle timeout, maximum duration). */
  readonly limits: TunnelLimits;
  /** Call once, when the connection is over. */
  release(): void;
}

export type TcpEndpointResult = TcpLease | { readonly flag: TcpFailureFlag; readonly reason: string };

export interface TcpEndpointHandles {
  readonly endpoints: EndpointRegistry;
  readonly cert: WorkloadCertificate;
  readonly random: () => number;
}

interface Waiter {
  readonly binding: ClusterBinding;
  readonly originalAddress: string | undefined;
  readonly client: ProxiedConnection | undefined;
  readonly done: (r: TcpEndpointResult) => void;
}

const waiting = new WeakMap<ClusterRuntime, Waiter[]>();
const NO_HEALTHY_UPSTREAM = 'no healthy upstream';
const OVERFLOW = 'upstream overflow';

const NOTHING_TO_CANCEL = (): void => undefined;

/**
 * Connect one opaque connection to an endpoint of `dest`; `done` is called once. The returned function withdraws a
 * connection still waiting for a slot (its client left), so it stops counting as pending.
 */
export function connectTcpEndpoint(
  rt: TcpEndpointHandles,
  cfg: CompiledProxyConfig,
  dest: L4Destination,
  /** The address the app dialled (captured), where PASSTHROUGH goes. */
  originalAddress: string | undefined,
  /** The client's connection, which a PROXY header names (DestinationRule `proxyProtocol`). */
  client: ProxiedConnection | undefined,
  done: (r: TcpEndpointResult) => void,
): () => void {
  const binding = cfg.cluster(dest.host, dest.port, dest.subset);
  const cluster = binding === undefined ? undefined : rt.endpoints.cluster(binding.config.name);
  if (binding === undefined || cluster === undefined) {
    done({ flag: 'NR', reason: NO_HEALTHY_UPSTREAM });
    return NOTHING_TO_CANCEL;
  }
  const breaker = cluster.breaker;
  if (!breaker.startRequest().admitted) {
    done({ flag: 'UO', reason: OVERFLOW });
    return NOTHING_TO_CANCEL;
  }
  const need = breaker.acquireConnection(false);
  if (typeof need === 'object') {
    breaker.endRequest();
    done({ flag: 'UO', reason: OVERFLOW });
    return NOTHING_TO_CANCEL;
  }
  if (need === 'connect') {
    connectWithSlot(rt, cluster, binding, originalAddress, client, done);
    return NOTHING_TO_CANCEL;
  }
  const w: Waiter = { binding, originalAddress, client, done };
  const queue = waiting.get(cluster);
  if (queue === undefined) waiting.set(cluster, [w]);
  else queue.push(w);
  return () => {
    const q = waiting.get(cluster);
    const i = q === undefined ? -1 : q.indexOf(w);
    if (i < 0) return;
    q!.splice(i, 1);
    breaker.endPending();
    breaker.endRequest();
  };
}

/** A connection slot is held: pick a host and dial it. */
function connectWithSlot(
  rt: TcpEndpointHandles,
  cluster: ClusterRuntime,
  binding: ClusterBinding,
  originalAddress: string | undefined,
  client: ProxiedConnection | undefined,
  done: (r: TcpEndpointResult) => void,
): void {
  const ctx: PickContext = { random: rt.random, hashKey: undefined, originalAddress };
  const host = cluster.pick(ctx);
  const ep = host === undefined ? undefined : binding.endpoints.get(host.address);
  if (host === undefined || ep === undefined) {
    freeSlot(rt, cluster);
    return done({ flag: 'UH', reason: NO_HEALTHY_UPSTREAM });
  }
  host.activeRequests++;
  const timeoutMs = binding.config.policy.connectionPool.connectTimeoutMs;
  dial(rt.cert, binding, ep, timeoutMs, client, (err, upstream) => {
    if (err !== undefined || upstream === undefined) {
      cluster.outlierDetector?.reportLocalOrigin(host, 'connect-failed');
      releaseHost(rt, cluster, host);
      return done({ flag: 'UF', reason: `upstream connect error: ${err?.message ?? 'unknown'}` });
    }
    cluster.outlierDetector?.reportLocalOrigin(host, 'connect-success-final');
    const pool = binding.config.policy.connectionPool;
    let released = false;
    done({
      upstream,
      endpoint: ep,
      cluster: binding.config.name,
      limits: { idleTimeoutMs: pool.tcpIdleTimeoutMs, maxDurationMs: pool.maxConnectionDurationMs },
      release: () => {
        if (released) return;
        released = true;
        releaseHost(rt, cluster, host);
      },
    });
  });
}

function releaseHost(rt: TcpEndpointHandles, cluster: ClusterRuntime, host: EndpointState): void {
  host.activeRequests--;
  freeSlot(rt, cluster);
}

/** A connection ended: its slot goes to the next waiting connection, else it is free again. */
function freeSlot(rt: TcpEndpointHandles, cluster: ClusterRuntime): void {
  cluster.breaker.endRequest();
  const queue = cluster.breaker.pendingRequests > 0 ? waiting.get(cluster) : undefined;
  if (queue !== undefined && queue.length > 0) {
    const w = queue.shift()!;
    cluster.breaker.endPending();
    connectWithSlot(rt, cluster, w.binding, w.originalAddress, w.client, w.done);
    return;
  }
  cluster.breaker.connectionClosed();
}

/**
 * Connect to the endpoint: the PROXY header first when the rule says `proxyProtocol` (before any TLS), then mTLS to
 * its sidecar or plaintext to its app port, then the HTTP tunnel through it when the rule says `tunnel`.
 */
function dial(
  cert: WorkloadCertificate,
  binding: ClusterBinding,
  ep: Endpoint,
  timeoutMs: number,
  client: ProxiedConnection | undefined,
  done: (err: Error | undefined, upstream?: Duplex) => void,
): void {
  const preface = prefaceFor(binding.httpPool, client);
  const { tunnel, connectionPool } = binding.config.policy;
  const connected = (err: Error | undefined, upstream?: net.Socket): void => {
    if (err !== undefined || upstream === undefined) return done(err);
    // tcpKeepalive: Node sets SO_KEEPALIVE and the idle time before the first probe; the probe count and interval
    // stay the kernel's (Node has no API for TCP_KEEPCNT and TCP_KEEPINTVL).
    if (connectionPool.tcpKeepalive !== null) upstream.setKeepAlive(true, connectionPool.tcpKeepalive.timeMs ?? 0);
    if (tunnel === null) return done(undefined, upstream);
    openHttpTunnel(upstream, tunnel, timeoutMs, done);
  };
  if (!endpointMtls(ep, binding.config.policy.tls?.mode)) {
    // PeerAuthentication DISABLE at the destination (auto mTLS), DestinationRule `tls.mode: DISABLE` or a pod without
    // a sidecar: plaintext to the app port, where its sidecar (capture) or the app itself (loopback) takes it.
    connectPlain({ address: ep.address, port: ep.targetPort }, connected, timeoutMs, preface);
    return;
  }
  // Istio's SNI names the destination's service port, so its sidecar pipes the connection to the right app port.
  const peer = { address: ep.address, port: ep.inboundPort, sni: binding.sni, spiffeId: ep.spiffeId };
  connectMtls(cert, peer, timeoutMs, (err, upstream) => connected(err ?? undefined, upstream ?? undefined), [], preface);
}

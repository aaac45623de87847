/**
 * Keep-alive connection pools to upstream endpoints (undici Pools, one per endpoint and TLS identity). mTLS
 * connections are made by our own connector so that every handshake uses the certificate current at that moment
 * (rotation needs no pool rebuild) and verifies the peer's SPIFFE ID, not a DNS name.
 */
import net from 'node:net';
import { Pool } from 'undici';
import type { buildConnector } from 'undici';
import { WeftError } from '../../errors.js';
import type { ClientTlsPolicy, Endpoint } from '../../proxyconfig/types.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { connectMtls } from './mtls-connect.js';
import { connectOriginating } from './tls-origination.js';
import type { OriginationTarget } from './tls-origination.js';

export interface UpstreamTarget {
  address: string;
  port: number;
  /** Undefined for plaintext. */
  tls?: { sni: string; spiffeId: string };
}

/**
 * Where requests to an endpoint go: mTLS to its sidecar's inbound port, or plaintext there when the destination's
 * mode is DISABLE (auto mTLS) or the DestinationRule says `tls.mode: DISABLE` (the destination must then accept
 * plaintext: PERMISSIVE, or DISABLE; a STRICT one refuses the connection, as in Istio).
 */
export function targetOf(ep: Endpoint, sni: string, plaintext = false): UpstreamTarget {
  return ep.mtls && !plaintext
    ? { address: ep.address, port: ep.inboundPort, tls: { sni, spiffeId: ep.spiffeId } }
    : { address: ep.address, port: ep.inboundPort };
}

function keyOf(t: UpstreamTarget): string {
  return t.tls ? `${t.address}:${t.port}|${t.tls.sni}|${t.tls.spiffeId}` : `${t.address}:${t.port}`;
}

const POOL_OPTIONS = {
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 300_000,
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
  connectTimeout: 5_000,
};

export class EndpointPools {
  #pools = new Map<string, Pool>();

  constructor(private readonly cert: WorkloadCertificate | undefined) {}

  get(target: UpstreamTarget): Pool {
    const key = keyOf(target);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(`http://${net.isIPv6(target.address) ? `[${target.address}]` : target.address}:${target.port}`, {
        ...POOL_OPTIONS,
        connect: target.tls ? this.#mtlsConnector(target, target.tls) : { timeout: POOL_OPTIONS.connectTimeout },
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /**
   * A pool whose connections the sidecar opens with TLS it originates (DestinationRule SIMPLE/MUTUAL): one per
   * destination, host and policy, so two rules never share a connection.
   */
  originating(target: OriginationTarget, policy: ClientTlsPolicy): Pool {
    const key = `${target.address}:${target.port}|originate|${target.host}|${JSON.stringify(policy)}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(`http://${net.isIPv6(target.address) ? `[${target.address}]` : target.address}:${target.port}`, {
        ...POOL_OPTIONS,
        connect: (_opts, callback) =>
          connectOriginating(policy, target, POOL_OPTIONS.connectTimeout, (err, socket) => {
            if (err || !socket) callback(err ?? new WeftError('TLS_ORIGINATION_FAILED', 'no socket'), null);
            else callback(null, socket);
          }, ['http/1.1']),
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Close pools whose endpoints left the config; requests in flight on them finish first. */
  retain(targets: Iterable<UpstreamTarget>): void {
    const live = new Set<string>();
    for (const t of targets) live.add(keyOf(t));
    for (const [key, pool] of this.#pools) {
      if (!live.has(key)) {
        this.#pools.delete(key);
        void pool.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  #mtlsConnector(target: UpstreamTarget, peer: { sni: string; spiffeId: string }): buildConnector.connector {
    const cert = this.cert;
    return (_opts, callback) => {
      if (!cert) {
        callback(new WeftError('UPSTREAM_UNREACHABLE', 'no workload certificate'), null);
        return;
      }
      connectMtls(cert, { address: target.address, port: target.port, ...peer }, POOL_OPTIONS.connectTimeout, (err, socket) => {
        if (err || !socket) callback(err ?? new WeftError('UPSTREAM_UNREACHABLE', 'no socket'), null);
        else callback(null, socket);
      });
    };
  }
}

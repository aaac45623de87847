/**
 * A gateway `tls` or `tcp` route whose destination is a ServiceEntry host (an egress gateway passing HTTPS through by
 * SNI to the external host): the entry's TLS port (by the destination host, as SNI), else its TCP port by host, names
 * where the bytes go (external-destination.ts: the entry's endpoints, or its host resolved). A passed-through
 * client session goes as it is; bytes that are not TLS already (a `tcp` route of a TCP server, or of a server that
 * terminated TLS) leave over TLS the gateway originates when a DestinationRule says SIMPLE or MUTUAL for the host
 * and port (tls-origination.ts, as Istio's egress gateway originates TLS for a TCP service), never wrapped twice.
 */
import type { Duplex } from 'node:stream';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { ExternalRoute } from '../config/compiled-externals.js';
import { externalDestination } from '../upstream/external-destination.js';
import { connectExternal } from '../upstream/external-connect.js';
import type { ProxiedConnection } from '../upstream/proxy-protocol.js';
import type { ClientTlsPolicy } from '../../proxyconfig/types.js';

/** The ServiceEntry port a route destination names, if the destination is an external host rather than a mesh service. */
export function externalL4Route(cfg: CompiledProxyConfig, host: string, port: number): ExternalRoute | undefined {
  return cfg.externals.tls(host, port) ?? cfg.externals.opaqueByHost(host, port);
}

/** Dials the entry's destination; `done` gets the upstream socket and its address, or why it could not be reached. */
export function openExternal(
  rt: ProxyRuntime,
  route: ExternalRoute,
  host: string,
  port: number,
  /** The client's connection, which a PROXY header names (the host's rule `proxyProtocol`). */
  client: ProxiedConnection,
  done: (r: { upstream: Duplex; address: string } | { reason: string }) => void,
  /** The TLS to originate (the route's rule for the host); undefined: the bytes go as they are. */
  originate?: ClientTlsPolicy,
): void {
  externalDestination(route, { address: host, port }, host, rt.resolver).then(
    (to) => {
      connectExternal(route, host, to, client, originate, (err, upstream) => {
        if (err || !upstream) done({ reason: `${route.source}: ${err?.message ?? 'no connection'}` });
        else done({ upstream, address: `${to.address}:${to.port}` });
      });
    },
    (err: unknown) => done({ reason: `${route.source}: ${(err as Error).message}` }),
  );
}

/**
 * A gateway `tls` or `tcp` route whose destination is a ServiceEntry host (an egress gateway passing HTTPS through by
 * SNI to the external host): the entry's TLS port (by the destination host, as SNI), else its TCP port by host, names
 * where the bytes go (external-destination.ts: the entry's endpoints, or its host resolved); no TLS is added, the
 * client's own session passes through.
 */
import type net from 'node:net';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { ExternalRoute } from '../config/compiled-externals.js';
import { externalDestination } from '../upstream/external-destination.js';
import { connectPlain } from '../upstream/plain-connect.js';

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
  done: (r: { upstream: net.Socket; address: string } | { reason: string }) => void,
): void {
  externalDestination(route, { address: host, port }, host, rt.resolver).then(
    (to) =>
      connectPlain(to, (err, upstream) => {
        if (err !== undefined || upstream === undefined) done({ reason: `${route.source}: ${err?.message ?? 'no connection'}` });
        else done({ upstream, address: `${to.address}:${to.port}` });
      }),
    (err: unknown) => done({ reason: `${route.source}: ${(err as Error).message}` }),
  );
}

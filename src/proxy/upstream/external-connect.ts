/**
 * One opaque connection to a ServiceEntry host's destination, as the host's DestinationRule says, in Envoy's order:
 * the PROXY header first (`proxyProtocol`, before any TLS), then the TLS this proxy originates (SIMPLE/MUTUAL) or
 * the bytes as they are, then the HTTP tunnel through the destination (`tunnel`, http-tunnel.ts). Without an entry
 * (passthrough) the connection is plain. Shared by captured connections, CONNECT clients and gateway routes.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExternalRoute } from '../config/compiled-externals.js';
import type { ClientTlsPolicy } from '../../proxyconfig/types.js';
import type { Destination } from './external-destination.js';
import { openHttpTunnel } from './http-tunnel.js';
import { PLAIN_CONNECT_TIMEOUT_MS, connectPlain } from './plain-connect.js';
import type { ProxiedConnection } from './proxy-protocol.js';
import { connectOriginating } from './tls-origination.js';

export function connectExternal(
  route: ExternalRoute | undefined,
  /** The entry's host the connection is for, whose rule applies; undefined: none known. */
  host: string | undefined,
  dst: Destination,
  client: ProxiedConnection,
  /** TLS to originate (with `host` as the server name unless the rule sets `sni`); undefined: the bytes as they are. */
  originate: ClientTlsPolicy | undefined,
  done: (err: Error | undefined, upstream?: Duplex) => void,
): void {
  const version = route === undefined || host === undefined ? undefined : route.proxyProtocolFor(host);
  const preface = version === undefined ? undefined : client.header(version);
  const tunnel = route === undefined || host === undefined ? undefined : route.tunnelFor(host);
  const connected = (err: Error | null | undefined, upstream: net.Socket | null | undefined): void => {
    if (err || !upstream) return done(err ?? undefined);
    if (tunnel === undefined) return done(undefined, upstream);
    openHttpTunnel(upstream, tunnel, PLAIN_CONNECT_TIMEOUT_MS, done);
  };
  if (originate === undefined || host === undefined) connectPlain(dst, connected, PLAIN_CONNECT_TIMEOUT_MS, preface);
  else connectOriginating(originate, { ...dst, host }, PLAIN_CONNECT_TIMEOUT_MS, connected, undefined, preface);
}

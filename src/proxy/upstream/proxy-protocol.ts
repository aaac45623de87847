/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that an upstream connection of a
 * cluster with DestinationRule `proxyProtocol` starts with, before any TLS: Envoy's upstream_proxy_protocol
 * transport socket, which Istio wraps around the cluster's transport. TCP over IPv4 and IPv6 only, as Envoy sends.
 * Written by hand: a few lines of the spec, and no well-kept library writes both versions.
 */
import type { EventEmitter } from 'node:events';
import net from 'node:net';

export type ProxyProtocolVersion = 'V1' | 'V2';

/** The downstream connection's two ends, as the header carries them. */
export interface ProxiedAddresses {
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Version 2, command PROXY (0x1) or LOCAL (0x0). */
const V2_PROXY = 0x21;
const V2_LOCAL = 0x20;
/** Address family and transport: AF_INET or AF_INET6 over STREAM; UNSPEC for LOCAL. */
const V2_TCP4 = 0x11;
const V2_TCP6 = 0x21;
const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The header for one connection. Both addresses are sent in one family (the spec's rule): an IPv4 address that a
 * dual-stack socket reports as `::ffff:a.b.c.d` is IPv4, and when the two still differ the IPv4 one is sent
 * IPv4-mapped. An address that is not an IP (nothing to say) gives v1's `UNKNOWN` and v2's LOCAL command.
 */
export function proxyProtocolHeader(version: ProxyProtocolVersion, a: ProxiedAddresses): Buffer {
  let src = unmapped(a.sourceAddress);
  let dst = unmapped(a.destinationAddress);
  const known = net.isIP(src) !== 0 && net.isIP(dst) !== 0;
  if (known && net.isIP(src) !== net.isIP(dst)) {
    if (net.isIPv4(src)) src = `::ffff:${src}`;
    else dst = `::ffff:${dst}`;
  }
  if (version === 'V1') {
    if (!known) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    return Buffer.from(`PROXY ${net.isIPv4(src) ? 'TCP4' : 'TCP6'} ${src} ${dst} ${a.sourcePort} ${a.destinationPort}\r\n`, 'latin1');
  }
  if (!known) return Buffer.concat([V2_SIGNATURE, Buffer.from([V2_LOCAL, 0x00, 0x00, 0x00])]);
  const v4 = net.isIPv4(src);
  const size = v4 ? 4 : 16;
  const out = Buffer.alloc(V2_SIGNATURE.length + 4 + 2 * size + 4);
  V2_SIGNATURE.copy(out, 0);
  let at = V2_SIGNATURE.length;
  out[at++] = V2_PROXY;
  out[at++] = v4 ? V2_TCP4 : V2_TCP6;
  out.writeUInt16BE(2 * size + 4, at);
  at += 2;
  at = writeAddress(out, at, src);
  at = writeAddress(out, at, dst);
  out.writeUInt16BE(a.sourcePort, at);
  out.writeUInt16BE(a.destinationPort, at + 2);
  return out;
}

function unmapped(address: string): string {
  const m = MAPPED_V4.exec(address);
  return m === null ? address : m[1]!;
}

function writeAddress(out: Buffer, at: number, address: string): number {
  if (net.isIPv4(address)) {
    for (const octet of address.split('.')) out[at++] = Number(octet);
    return at;
  }
  for (const group of ipv6Groups(address)) {
    out.writeUInt16BE(group, at);
    at += 2;
  }
  return at;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 as two groups). */
function ipv6Groups(address: string): number[] {
  const zone = address.indexOf('%');
  let text = zone < 0 ? address : address.slice(0, zone);
  const tail: number[] = [];
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, text.length - dotted[1]!.length);
    // `::ffff:1.2.3.4` leaves `::ffff:`; `::1.2.3.4` leaves `::`.
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  const head = gap < 0 ? parse(text) : parse(text.slice(0, gap));
  const rest = gap < 0 ? [] : parse(text.slice(gap + 2));
  const zeros = 8 - head.length - rest.length - tail.length;
  return [...head, ...new Array<number>(Math.max(0, zeros)).fill(0), ...rest, ...tail];
}

/** The bytes an upstream connection starts with: a header made before connecting, or from its own two ends once connected. */
export type Preface = Buffer | ((upstream: net.Socket) => Buffer);

/**
 * Envoy's header when no client connection is behind the upstream one (a call the proxy makes itself): the upstream
 * connection's own local and remote addresses.
 */
export function ownAddressesHeader(version: ProxyProtocolVersion): Preface {
  return (upstream) =>
    proxyProtocolHeader(version, {
      sourceAddress: upstream.localAddress ?? '',
      sourcePort: upstream.localPort ?? 0,
      destinationAddress: upstream.remoteAddress ?? '',
      destinationPort: upstream.remotePort ?? 0,
    });
}

/** A client's connection as PROXY headers name it, made once per connection. */
export interface ProxiedConnection {
  /** The socket or HTTP/2 session: upstream connections opened for it close when it does. */
  readonly connection: EventEmitter;
  readonly addresses: ProxiedAddresses;
  header(version: ProxyProtocolVersion): Buffer;
  /** The connection is gone already (it will not emit 'close' again): nothing may wait for its close. */
  closed(): boolean;
}

interface AddressedSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

const proxied = new WeakMap<EventEmitter, ProxiedConnection>();

/**
 * What a PROXY header says for a client connection, as Envoy fills it from the downstream connection (tcp_proxy and
 * the HTTP router alike): the source is the client's end (the app, for a sidecar's outbound; the peer, at a
 * gateway), the destination is the address it dialled: the original destination of a captured connection, else
 * this proxy's end of it (a CONNECT or http_proxy client, a gateway listener). Made once per connection and kept
 * beside it, so a request on a kept-alive connection allocates nothing for it.
 */
export function proxiedConnection(
  connection: EventEmitter,
  socket: AddressedSocket | undefined,
  /** A captured connection's original destination; undefined: this proxy's end of the connection. */
  dialledAddress: string | undefined,
  dialledPort = 0,
): ProxiedConnection {
  let p = proxied.get(connection);
  if (p === undefined) {
    const addresses: ProxiedAddresses = {
      sourceAddress: socket?.remoteAddress ?? '',
      sourcePort: socket?.remotePort ?? 0,
      destinationAddress: dialledAddress ?? socket?.localAddress ?? '',
      destinationPort: dialledAddress === undefined ? (socket?.localPort ?? 0) : dialledPort,
    };
    const headers: Partial<Record<ProxyProtocolVersion, Buffer>> = {};
    p = { connection, addresses, header: (v) => (headers[v] ??= proxyProtocolHeader(v, addresses)), closed: () => (connection as { destroyed?: boolean }).destroyed === true };
    proxied.set(connection, p);
  }
  return p;
}

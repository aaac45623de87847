/**
 * The pod's DNS proxy on 127.0.0.1:<WEFT_DNS_PORT> (Istio's 15053), UDP and TCP: the capture rules send the app's
 * DNS here. Names of mesh services and ServiceEntries are answered from the current table (dns-answer.ts); every
 * other query is relayed to the upstream servers in turn, each with a timeout, and the first reply goes back
 * unchanged; with no upstream (or none answering) the client gets NXDOMAIN (SERVFAIL). Hostile input never
 * crashes it: bad packets get FORMERR or are dropped, and the queries relayed at once are bounded.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { DnsServer } from './dns-upstream.js';
import { DnsTable } from './dns-table.js';
import { MAX_QUERY_BYTES, RCODE_NXDOMAIN, RCODE_SERVFAIL, answerDnsQuery, refusal } from './dns-answer.js';

const UPSTREAM_TIMEOUT_MS = 2_000;
const MAX_IN_FLIGHT = 512;
const TCP_IDLE_MS = 10_000;
/** Before the first config: every name is someone else's. */
const NO_NAMES = new DnsTable({ services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' });

export interface DnsProxyOptions {
  port: number;
  /** 127.0.0.1 in a pod. */
  host: string;
  upstream: readonly DnsServer[];
  /** The table in force now; read once per query, so a config swap takes effect on the next one. */
  table: () => DnsTable | undefined;
  upstreamTimeoutMs?: number;
}

export interface DnsProxy {
  /** The UDP port bound (useful when 0 was asked for); TCP listens on the same port. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startDnsProxy(o: DnsProxyOptions): Promise<DnsProxy> {
  const timeoutMs = o.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS;
  let inFlight = 0;
  const handle = (query: Buffer, reply: (response: Buffer) => void): void => {
    const verdict = answerDnsQuery(o.table() ?? NO_NAMES, query);
    if (verdict.kind === 'answer') return reply(verdict.response);
    if (verdict.kind === 'drop') return;
    if (o.upstream.length === 0) return reply(refusal(query, RCODE_NXDOMAIN));
    if (inFlight >= MAX_IN_FLIGHT) return;
    inFlight++;
    relay(query, o.upstream, timeoutMs).then((response) => {
      inFlight--;
      reply(response ?? refusal(query, RCODE_SERVFAIL));
    }, () => {
      inFlight--;
      reply(refusal(query, RCODE_SERVFAIL));
    });
  };

  const { udp, tcp, port } = await bindBoth(o, handle);

  return {
    port,
    close: async () => {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

/** DNS over TCP: each message is preceded by its 2-byte length (RFC 1035 §4.2.2). */
function serveTcp(socket: net.Socket, handle: (query: Buffer, reply: (r: Buffer) => void) => void): void {
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (len > MAX_QUERY_BYTES) {
        socket.destroy();
        return;
      }
      if (pending.length < 2 + len) return;
      const query = pending.subarray(2, 2 + len);
      pending = pending.subarray(2 + len);
      handle(query, (r) => {
        if (socket.destroyed || r.length > 0xffff) return;
        const len2 = Buffer.alloc(2);
        len2.writeUInt16BE(r.length);
        // A client that asks without reading stops being read, rather than growing the sidecar's memory.
        if (!socket.write(Buffer.concat([len2, r]))) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      });
    }
  });
}

/** Ask each server in turn on a fresh connected socket (only that server's replies are accepted); undefined if none answers. */
async function relay(query: Buffer, servers: readonly DnsServer[], timeoutMs: number): Promise<Buffer | undefined> {
  const id = query.readUInt16BE(0);
  for (const server of servers) {
    const response = await askOne(query, id, server, timeoutMs);
    if (response) return response;
  }
  return undefined;
}

function askOne(query: Buffer, id: number, server: DnsServer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(server.address) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('error', () => finish(undefined));
    socket.on('message', (msg) => {
      // Only a response to this query's id counts; anything else on the socket is ignored.
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg.readUInt16BE(2) & 0x8000) !== 0) finish(msg);
    });
    // A server that cannot be reached at all (no route, a broadcast address) fails here at once: on to the next.
    socket.connect(server.port, server.address, (err?: Error) => {
      if (err) finish(undefined);
      else socket.send(query, () => undefined);
    });
  });
}

/** The resolver's port for UDP and TCP alike. */
async function bindBoth(o: DnsProxyOptions, handle: (query: Buffer, reply: (response: Buffer) => void) => void): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  // With port 0 the system picks a free UDP port, whose TCP twin may be taken: pick again a few times.
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.on('error', () => undefined);
    udp.on('message', (msg, rinfo) => handle(msg, (r) => udp.send(r, rinfo.port, rinfo.address, () => undefined)));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(o.port, o.host, () => {
        udp.removeListener('error', reject);
        resolve();
      });
    });
    const port = udp.address().port;
    const tcp = net.createServer((socket) => serveTcp(socket, handle));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, o.host, () => {
          tcp.removeListener('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port };
    } catch (err) {
      udp.close();
      if (o.port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw err;
    }
  }
}

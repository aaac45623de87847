/**
 * Test support: what crossed a link, as a wire observer sees it. tcpdump writes a pcap while a test runs; the
 * file is then read back into TCP streams (per direction, reassembled by sequence number), so a search for some
 * bytes is not fooled by their being split across segments.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { onTeardown } from '../../bench/teardown.js';

export interface TcpStream {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** Every payload byte sent in this direction, in sequence order. */
  payload: Buffer;
}

export interface PacketCapture {
  file: string;
  /** Stops tcpdump (its last packets flushed) and reads what it wrote. */
  stop(): Promise<TcpStream[]>;
}

/** Starts `tcpdump -i link tcp` writing `file`; resolves once it is capturing. */
export function startCapture(link: string, file: string, timeoutMs = 10_000): Promise<PacketCapture> {
  // Immediate mode and -U hand each packet to the file as it arrives: packets still in the kernel's ring buffer
  // when tcpdump is stopped are otherwise lost, and they are the last ones a test sent. -s 0 keeps whole packets.
  const child = spawn('tcpdump', ['-i', link, '-n', '--immediate-mode', '-U', '-s', '0', '-w', file, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const unregister = onTeardown({ what: `tcpdump on ${link}`, stop: () => void child.kill('SIGKILL'), kill: () => child.kill('SIGKILL') });
  child.once('exit', unregister);
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<TcpStream[]> => {
    if (child.exitCode === null && child.signalCode === null) {
      // The last packets may still be on their way through the bridge.
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    return tcpStreams(fs.readFileSync(file));
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.stderr.off('data', started);
      reject(new Error(`tcpdump ${why}: ${err}`));
    };
    const exitedEarly = (code: number | null): void => fail(`exited (${code})`);
    const started = (): void => {
      if (!err.includes('listening on')) return;
      clearTimeout(timer);
      child.stderr.off('data', started);
      child.off('exit', exitedEarly);
      resolve({ file, stop });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`did not start capturing on ${link}`);
    }, timeoutMs);
    child.once('error', (e) => fail(`cannot run: ${e.message}`));
    child.once('exit', exitedEarly);
    child.stderr.on('data', started);
  });
}

interface Segment {
  seq: number;
  data: Buffer;
}

/** Link-layer header length by pcap link type: Ethernet and Linux cooked capture. */
const LINK_HEADER: Record<number, number> = { 1: 14, 113: 16 };

/** The TCP payload of a classic pcap file (either byte order, micro- or nanosecond), grouped into streams. */
export function tcpStreams(file: Buffer): TcpStream[] {
  if (file.length < 24) return [];
  const magic = file.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error('not a classic pcap file (pcapng is not read here)');
  }
  const u32 = (at: number): number => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linkType = u32(20);
  const linkHeader = LINK_HEADER[linkType];
  if (linkHeader === undefined) throw new Error(`pcap link type ${linkType} is not read here`);

  const streams = new Map<string, { head: Omit<TcpStream, 'payload'>; segments: Segment[] }>();
  for (let at = 24; at + 16 <= file.length; ) {
    const captured = u32(at + 8);
    const frame = file.subarray(at + 16, at + 16 + captured);
    at += 16 + captured;
    const etherType = frame.length >= linkHeader ? frame.readUInt16BE(linkHeader - 2) : 0;
    if (etherType !== 0x0800) continue;
    const ip = frame.subarray(linkHeader);
    if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 6) continue;
    const ipHeader = (ip[0]! & 0x0f) * 4;
    const tcp = ip.subarray(ipHeader, Math.min(ip.length, ip.readUInt16BE(2)));
    if (tcp.length < 20) continue;
    const data = tcp.subarray((tcp[12]! >> 4) * 4);
    if (data.length === 0) continue;
    const head = {
      src: ip.subarray(12, 16).join('.'),
      dst: ip.subarray(16, 20).join('.'),
      srcPort: tcp.readUInt16BE(0),
      dstPort: tcp.readUInt16BE(2),
    };
    const key = `${head.src}:${head.srcPort}>${head.dst}:${head.dstPort}`;
    const stream = streams.get(key) ?? { head, segments: [] };
    streams.set(key, stream);
    stream.segments.push({ seq: tcp.readUInt32BE(4), data: Buffer.from(data) });
  }
  return [...streams.values()].map(({ head, segments }) => ({ ...head, payload: reassemble(segments) }));
}

/** Orders segments by sequence number relative to the first one seen, dropping what retransmissions repeat. */
function reassemble(segments: Segment[]): Buffer {
  const first = segments[0]?.seq ?? 0;
  const relative = segments.map((s) => ({ offset: (s.seq - first + 2 ** 32) % 2 ** 32, data: s.data })).sort((a, b) => a.offset - b.offset);
  const parts: Buffer[] = [];
  let next = relative[0]?.offset ?? 0;
  for (const s of relative) {
    const end = s.offset + s.data.length;
    if (end <= next) continue;
    parts.push(s.data.subarray(Math.max(0, next - s.offset)));
    next = end;
  }
  return Buffer.concat(parts);
}

/** Streams that carry `bytes` anywhere in their payload. */
export function streamsContaining(streams: readonly TcpStream[], bytes: Buffer): TcpStream[] {
  return streams.filter((s) => s.payload.includes(bytes));
}

/**
 * Streams that open with a TLS ClientHello: a handshake record (0x16), record version 3.1 or 3.3 (TLS 1.3 keeps
 * 3.1 there), and handshake message type 1.
 */
export function clientHelloStreams(streams: readonly TcpStream[]): TcpStream[] {
  return streams.filter((s) => {
    const p = s.payload;
    return p.length > 5 && p[0] === 0x16 && p[1] === 0x03 && (p[2] === 0x01 || p[2] === 0x03) && p[5] === 0x01;
  });
}

export function describeStream(s: TcpStream): string {
  return `${s.src}:${s.srcPort} > ${s.dst}:${s.dstPort} (${s.payload.length} bytes)`;
}

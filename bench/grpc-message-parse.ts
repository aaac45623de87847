/**
 * Micro-benchmark of the gRPC length-prefix parser (src/proxy/http2/grpc-message-limit.ts), the one pass that both
 * enforces grpcMaxMessageBytes and counts messages: nanoseconds per message for the body shapes a proxy sees. A
 * unary call makes a parser and feeds it one DATA chunk; a stream of small messages packs many into each 16 KiB
 * chunk; a large message spans many chunks.
 *
 *   node dist/bench/grpc-message-parse.js [path/to/grpc-message-limit.js]
 *
 * The optional argument is another build of the parser (an earlier commit's), so two versions are measured by the
 * same loop in the same process, alternated; the output is one JSON line per shape and version.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GrpcMessageLimit } from '../src/proxy/http2/grpc-message-limit.js';

interface Parser {
  feed(chunk: Uint8Array): number;
}
type ParserClass = new (limit: number) => Parser;

const CHUNK = 16 * 1024;
const LIMIT = 4 * 1024 * 1024;

function messages(count: number, payload: number): Buffer {
  const one = Buffer.alloc(5 + payload, 0x61);
  one.writeUInt32BE(payload, 1);
  one[0] = 0;
  return Buffer.concat(Array.from({ length: count }, () => one));
}

function chunks(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += CHUNK) out.push(body.subarray(i, Math.min(body.length, i + CHUNK)));
  return out;
}

interface Shape {
  name: string;
  /** DATA chunks of one call's body, and the messages in it. */
  frames: Buffer[];
  messages: number;
  /** Calls per timed round. */
  calls: number;
}

const SHAPES: Shape[] = [
  { name: 'unary, one 64 B message in one chunk', frames: [messages(1, 64)], messages: 1, calls: 200_000 },
  { name: 'stream, 4096 messages of 16 B in 16 KiB chunks', frames: chunks(messages(4096, 16)), messages: 4096, calls: 100 },
  { name: 'stream, 64 messages of 1 KiB in 16 KiB chunks', frames: chunks(messages(64, 1024)), messages: 64, calls: 5_000 },
  { name: 'one 1 MiB message in 16 KiB chunks', frames: chunks(messages(1, 1024 * 1024)), messages: 1, calls: 5_000 },
];

let sink = 0;
function round(Parser: ParserClass, s: Shape): number {
  const start = process.hrtime.bigint();
  for (let c = 0; c < s.calls; c++) {
    const p = new Parser(LIMIT);
    for (const f of s.frames) sink += p.feed(f);
  }
  return Number(process.hrtime.bigint() - start) / (s.calls * s.messages);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const other = process.argv[2];
const versions: [string, ParserClass][] = [['current', GrpcMessageLimit]];
if (other !== undefined) {
  const mod = (await import(pathToFileURL(path.resolve(other)).href)) as { GrpcMessageLimit: ParserClass };
  versions.unshift(['other', mod.GrpcMessageLimit]);
}

const ROUNDS = 9;
for (const s of SHAPES) {
  const ns = new Map<string, number[]>(versions.map(([v]) => [v, []]));
  // Warm up every version, then alternate them round by round so drift in machine load falls on both.
  for (const [, P] of versions) round(P, s);
  for (let r = 0; r < ROUNDS; r++) for (const [v, P] of versions) ns.get(v)!.push(round(P, s));
  for (const [v] of versions) process.stdout.write(`${JSON.stringify({ shape: s.name, version: v, nsPerMessage: Number(median(ns.get(v)!).toFixed(1)) })}\n`);
}
if (sink === 42) process.stdout.write('\n');

/**
 * One DNS query judged against the table, pure: answer it, forward it upstream, or drop it. For a name the mesh
 * owns: A (or AAAA for an IPv6 address) with a short TTL; any other type, AAAA included, NOERROR with no answers,
 * so a client asking A and AAAA together uses the A answer at once instead of waiting. A malformed query gets
 * FORMERR when its header can be read, else nothing; a response, or a query of another opcode, is not served.
 */
import net from 'node:net';
import { AUTHORITATIVE_ANSWER, RECURSION_AVAILABLE, RECURSION_DESIRED, decode, encode } from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import type { DnsTable } from './dns-table.js';

/** Short, as Istio's DNS proxy: names move when services and entries change. */
export const MESH_ANSWER_TTL_S = 30;
/** Larger than any query a resolver sends; anything bigger is not parsed. */
export const MAX_QUERY_BYTES = 4096;

export type DnsVerdict = { kind: 'answer'; response: Buffer } | { kind: 'forward' } | { kind: 'drop' };

const RCODE_FORMERR = 1;
const RCODE_NOTIMP = 4;
const QR = 0x8000;
const OPCODE_MASK = 0x7800;

export function answerDnsQuery(table: DnsTable, query: Buffer): DnsVerdict {
  if (query.length < 12 || query.length > MAX_QUERY_BYTES) return { kind: 'drop' };
  const flags = query.readUInt16BE(2);
  // Never answer a response: two proxies (or a spoofer) must not bounce packets between them.
  if ((flags & QR) !== 0) return { kind: 'drop' };
  if ((flags & OPCODE_MASK) !== 0) return { kind: 'answer', response: headerOnly(query, RCODE_NOTIMP) };
  let packet: DecodedPacket;
  try {
    packet = decode(query);
  } catch {
    return { kind: 'answer', response: headerOnly(query, RCODE_FORMERR) };
  }
  const questions = packet.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || !q) return { kind: 'answer', response: headerOnly(query, RCODE_FORMERR) };
  if ((q.class ?? 'IN') !== 'IN') return { kind: 'forward' };
  const address = table.address(q.name);
  if (address === undefined) return { kind: 'forward' };
  const answers: Answer[] = [];
  const family = net.isIPv6(address) ? 'AAAA' : 'A';
  if (q.type === family) answers.push({ type: family, name: q.name, class: 'IN', ttl: MESH_ANSWER_TTL_S, data: address });
  const response = encode({
    id: packet.id ?? 0,
    type: 'response',
    flags: AUTHORITATIVE_ANSWER | RECURSION_AVAILABLE | (flags & RECURSION_DESIRED),
    questions: [q],
    answers,
  });
  return { kind: 'answer', response };
}

/** A response carrying only the query's id, opcode and RD flag and an error code: all a broken query can get. */
export function headerOnly(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(query.readUInt16BE(0), 0);
  const flags = query.readUInt16BE(2);
  out.writeUInt16BE(QR | (flags & OPCODE_MASK) | (flags & RECURSION_DESIRED) | RECURSION_AVAILABLE | rcode, 2);
  return out;
}

/**
 * The query itself turned into a response with an error code (NXDOMAIN, SERVFAIL): the question section is echoed,
 * as resolvers check that a response answers what they asked.
 */
export function refusal(query: Buffer, rcode: number): Buffer {
  const out = Buffer.from(query);
  const flags = query.readUInt16BE(2);
  out.writeUInt16BE(QR | (flags & OPCODE_MASK) | (flags & RECURSION_DESIRED) | RECURSION_AVAILABLE | rcode, 2);
  return out;
}

export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;

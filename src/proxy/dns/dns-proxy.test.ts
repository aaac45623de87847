import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { RECURSION_DESIRED, decode, encode } from 'dns-packet';
import type { DecodedPacket, RecordType } from 'dns-packet';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { DnsTable } from './dns-table.js';
import { answerDnsQuery } from './dns-answer.js';
import { startDnsProxy } from './dns-proxy.js';
import type { DnsProxy } from './dns-proxy.js';
import { parseDnsUpstream } from './dns-upstream.js';

const outbound: ProxyConfig['outbound'] = {
  services: [
    { host: 'httpbin.default.svc.cluster.local', namespace: 'default', aliases: ['httpbin', 'httpbin.default', 'httpbin.default.svc'], ports: [], addresses: ['198.19.0.10'] },
    { host: 'loopback-only.default.svc.cluster.local', namespace: 'default', aliases: ['loopback-only'], ports: [], addresses: [] },
    { host: 'v6.default.svc.cluster.local', namespace: 'default', aliases: [], ports: [], addresses: ['fd00::10'] },
  ],
  externals: [
    {
      source: 'default/outside',
      namespace: 'default',
      hosts: ['outside.example', '*.wild.example', 'httpbin'],
      addresses: [],
      dns: [
        { host: 'outside.example', address: '198.19.0.200' },
        { host: 'httpbin', address: '198.19.0.201' },
      ],
      ports: [],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      endpoints: [],
    },
  ],
  trafficPolicy: 'REGISTRY_ONLY',
};
const table = new DnsTable(outbound);

/** dns-packet decodes the response code, though its types leave it out. */
type Decoded = DecodedPacket & { rcode: string };
const decodeResponse = (b: Buffer): Decoded => decode(b) as Decoded;

let nextId = 1;
function query(name: string, type: RecordType = 'A'): Buffer {
  return encode({ id: nextId++, type: 'query', flags: RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

describe('DnsTable', () => {
  const rows: Array<[name: string, want: string | undefined]> = [
    ['httpbin.default.svc.cluster.local', '198.19.0.10'],
    ['HTTPBIN.default.svc.cluster.local.', '198.19.0.10'],
    ['httpbin', '198.19.0.10'], // the mesh service wins over the ServiceEntry naming it too
    ['httpbin.default', '198.19.0.10'],
    ['outside.example', '198.19.0.200'],
    ['v6.default.svc.cluster.local', 'fd00::10'],
    ['loopback-only', undefined], // no address: left to upstream
    ['a.wild.example', undefined], // wildcards are never answered
    ['example.org', undefined],
  ];
  for (const [name, want] of rows) test(`${name} → ${String(want)}`, () => assert.equal(table.address(name), want));
});

describe('answerDnsQuery', () => {
  const answered = (q: Buffer): Decoded => {
    const v = answerDnsQuery(table, q);
    assert.equal(v.kind, 'answer');
    return decodeResponse((v as { response: Buffer }).response);
  };

  test('A for a mesh name: the address, short TTL, authoritative, same id and question', () => {
    const q = query('httpbin.default.svc.cluster.local');
    const r = answered(q);
    assert.equal(r.id, q.readUInt16BE(0));
    assert.equal(r.type, 'response');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.flag_aa, true);
    assert.equal(r.flag_rd, true);
    assert.deepEqual(r.questions, [{ name: 'httpbin.default.svc.cluster.local', type: 'A', class: 'IN' }]);
    assert.deepEqual(r.answers?.map((a) => [a.type, a.name, (a as { data: unknown }).data, (a as { ttl: number }).ttl]), [['A', 'httpbin.default.svc.cluster.local', '198.19.0.10', 30]]);
  });

  const empty: Array<[name: string, type: RecordType]> = [
    ['httpbin', 'AAAA'],
    ['outside.example', 'AAAA'],
    ['httpbin', 'MX'],
    ['v6.default.svc.cluster.local', 'A'],
  ];
  for (const [name, type] of empty) {
    test(`${type} ${name}: NOERROR with no answers`, () => {
      const r = answered(query(name, type));
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual(r.answers, []);
    });
  }

  test('AAAA for a name with an IPv6 address', () => {
    const r = answered(query('v6.default.svc.cluster.local', 'AAAA'));
    assert.deepEqual(r.answers?.map((a) => (a as { data: unknown }).data), ['fd00::10']);
  });

  test('other names are forwarded', () => assert.deepEqual(answerDnsQuery(table, query('example.org')), { kind: 'forward' }));

  const hostile: Array<[name: string, input: Buffer, want: 'drop' | 'FORMERR' | 'NOTIMP']> = [
    ['shorter than a header', Buffer.from([1, 2, 3]), 'drop'],
    ['oversize', Buffer.alloc(5000), 'drop'],
    ['a response, not a query', encode({ id: 9, type: 'response', questions: [{ name: 'httpbin', type: 'A' }] }), 'drop'],
    ['a header claiming a question that is not there', Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), 'FORMERR'],
    ['a label running past the end', Buffer.concat([Buffer.from([0, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([63, 97, 98])]), 'FORMERR'],
    ['two questions', encode({ id: 5, type: 'query', questions: [{ name: 'a', type: 'A' }, { name: 'b', type: 'A' }] }), 'FORMERR'],
    ['no question', encode({ id: 6, type: 'query', questions: [] }), 'FORMERR'],
    ['an UPDATE (opcode 5)', Buffer.from([0, 9, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'NOTIMP'],
  ];
  for (const [name, input, want] of hostile) {
    test(`hostile: ${name} → ${want}`, () => {
      const v = answerDnsQuery(table, input);
      if (want === 'drop') return assert.equal(v.kind, 'drop');
      assert.equal(v.kind, 'answer');
      const r = decodeResponse((v as { response: Buffer }).response);
      assert.equal(r.rcode, want);
      assert.equal(r.id, input.readUInt16BE(0));
    });
  }

  test('random bytes never throw', () => {
    let seed = 11;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.alloc(12 + (i % 60));
      for (let k = 0; k < b.length; k++) b[k] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
      assert.ok(['answer', 'forward', 'drop'].includes(answerDnsQuery(table, b).kind));
    }
  });
});

describe('parseDnsUpstream', () => {
  test('ip, ip:port and [v6]:port; port 53 by default', () =>
    assert.deepEqual(parseDnsUpstream('10.0.0.2, 127.0.0.1:5353,[::1]:53,fd00::1'), [
      { address: '10.0.0.2', port: 53 },
      { address: '127.0.0.1', port: 5353 },
      { address: '::1', port: 53 },
      { address: 'fd00::1', port: 53 },
    ]));
  for (const bad of ['dns.example', '10.0.0.1:0', '10.0.0.1:x', '[::1]:99999']) test(`refuses ${bad}`, () => assert.throws(() => parseDnsUpstream(bad), /WEFT_DNS_UPSTREAM/));
  test('empty: none', () => assert.deepEqual(parseDnsUpstream(''), []));
});

/** A fake upstream resolver on loopback: answers example.org with 192.0.2.1, stays silent for silent.example. */
async function fakeUpstream(): Promise<{ socket: dgram.Socket; port: number; seen: string[] }> {
  const socket = dgram.createSocket('udp4');
  const seen: string[] = [];
  socket.on('message', (msg, rinfo) => {
    const q = decode(msg);
    const name = q.questions?.[0]?.name ?? '';
    seen.push(name);
    if (name === 'silent.example') return;
    const answers = name === 'example.org' ? [{ type: 'A' as const, name, ttl: 60, data: '192.0.2.1' }] : [];
    socket.send(encode({ id: q.id ?? 0, type: 'response', flags: name === 'example.org' ? 0 : 3, questions: q.questions ?? [], answers }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, port: socket.address().port, seen };
}

function ask(port: number, q: Buffer, timeoutMs = 3000): Promise<Decoded | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(decodeResponse(msg));
    });
    s.send(q, port, '127.0.0.1');
  });
}

function askTcp(port: number, q: Buffer): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    c.write(Buffer.concat([len, q]));
    let got = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        c.destroy();
        resolve(decodeResponse(got.subarray(2)));
      }
    });
    c.on('error', reject);
  });
}

describe('DNS proxy on loopback', () => {
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let proxy: DnsProxy;
  let lonely: DnsProxy;
  let current: DnsTable | undefined = table;
  before(async () => {
    upstream = await fakeUpstream();
    proxy = await startDnsProxy({ port: 0, host: '127.0.0.1', upstream: [{ address: '127.0.0.1', port: upstream.port }], table: () => current, upstreamTimeoutMs: 300 });
    lonely = await startDnsProxy({ port: 0, host: '127.0.0.1', upstream: [], table: () => table });
  });
  after(async () => {
    await proxy.close();
    await lonely.close();
    upstream.socket.close();
  });

  test('a mesh name is answered without asking upstream', async () => {
    const r = await ask(proxy.port, query('outside.example'));
    assert.deepEqual(r?.answers?.map((a) => (a as { data: unknown }).data), ['198.19.0.200']);
    assert.ok(!upstream.seen.includes('outside.example'));
  });

  test('another name is relayed and the upstream answer comes back', async () => {
    const q = query('example.org');
    const r = await ask(proxy.port, q);
    assert.equal(r?.id, q.readUInt16BE(0));
    assert.deepEqual(r?.answers?.map((a) => (a as { data: unknown }).data), ['192.0.2.1']);
  });

  test('an upstream NXDOMAIN is passed on', async () => assert.equal((await ask(proxy.port, query('nowhere.example')))?.rcode, 'NXDOMAIN'));

  test('an upstream that does not answer in time: SERVFAIL', async () => assert.equal((await ask(proxy.port, query('silent.example')))?.rcode, 'SERVFAIL'));

  test('an upstream that cannot be dialled is skipped at once, without an exception', async () => {
    const unreachable = await startDnsProxy({
      port: 0,
      host: '127.0.0.1',
      // Connecting a UDP socket to the broadcast address fails (EACCES) before anything is sent.
      upstream: [{ address: '255.255.255.255', port: 53 }, { address: '127.0.0.1', port: upstream.port }],
      table: () => table,
      upstreamTimeoutMs: 2000,
    });
    try {
      const started = Date.now();
      const r = await ask(unreachable.port, query('example.org'));
      assert.deepEqual(r?.answers?.map((a) => (a as { data: unknown }).data), ['192.0.2.1']);
      assert.ok(Date.now() - started < 1000, 'the unreachable server was waited for');
    } finally {
      await unreachable.close();
    }
  });

  test('no upstream at all: NXDOMAIN with the question echoed', async () => {
    const r = await ask(lonely.port, query('example.org'));
    assert.equal(r?.rcode, 'NXDOMAIN');
    assert.equal(r?.questions?.[0]?.name, 'example.org');
  });

  test('over TCP too', async () => {
    const r = await askTcp(proxy.port, query('httpbin'));
    assert.deepEqual(r.answers?.map((a) => (a as { data: unknown }).data), ['198.19.0.10']);
  });

  test('garbage gets FORMERR, a stray response is dropped, and the proxy keeps serving', async () => {
    assert.equal((await ask(proxy.port, Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])))?.rcode, 'FORMERR');
    assert.equal(await ask(proxy.port, encode({ id: 3, type: 'response', questions: [] }), 300), undefined);
    assert.equal((await ask(proxy.port, query('httpbin')))?.answers?.length, 1);
  });

  test('a new table takes effect on the next query', async () => {
    current = new DnsTable({ ...outbound, services: [] });
    try {
      const r = await ask(proxy.port, query('httpbin.default'));
      assert.deepEqual(r?.answers, []); // now forwarded; the fake upstream knows no such name
      assert.ok(upstream.seen.includes('httpbin.default'));
    } finally {
      current = table;
    }
  });
});

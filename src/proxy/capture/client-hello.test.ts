import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeTls, parseClientHello } from './client-hello.js';
import { captureHello, splitIntoTwoRecords } from './client-hello.fixture.js';

let withSni: Buffer;
let withoutSni: Buffer;
let tls12: Buffer;
before(async () => {
  withSni = await captureHello({ servername: 'API.Example.com' });
  withoutSni = await captureHello({ servername: '' });
  tls12 = await captureHello({ servername: 'legacy.example.org', maxVersion: 'TLSv1.2' });
});

describe('parseClientHello on real ClientHellos', () => {
  test('the server name, lower case', () => assert.deepEqual(parseClientHello(withSni), { kind: 'hello', sni: 'api.example.com' }));
  test('no server name sent: a hello without a host', () => assert.deepEqual(parseClientHello(withoutSni), { kind: 'hello', sni: undefined }));
  test('a TLS 1.2-only client', () => assert.deepEqual(parseClientHello(tls12), { kind: 'hello', sni: 'legacy.example.org' }));
  test('bytes after the hello are ignored', () =>
    assert.deepEqual(parseClientHello(Buffer.concat([withSni, Buffer.from('trailing')])), { kind: 'hello', sni: 'api.example.com' }));
  test('a hello split across two records', () => {
    for (const at of [1, 4, 40, withSni.length - 10]) {
      assert.deepEqual(parseClientHello(splitIntoTwoRecords(withSni, at)), { kind: 'hello', sni: 'api.example.com' }, `split at ${at}`);
    }
  });
  test('every truncation is incomplete, never an answer or a throw', () => {
    for (let n = 1; n < withSni.length; n++) assert.deepEqual(parseClientHello(withSni.subarray(0, n)), { kind: 'incomplete' }, `prefix ${n}`);
  });
});

describe('parseClientHello on hostile input', () => {
  const rows: Array<[name: string, input: Buffer, kind: string]> = [
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n'), 'not-tls'],
    ['SSH banner', Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'), 'not-tls'],
    ['empty', Buffer.alloc(0), 'not-tls'],
    ['handshake type byte, wrong major version', Buffer.from([0x16, 0x02, 0x00, 0x00, 0x05]), 'not-tls'],
    ['a zero-length record', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), 'invalid'],
    ['a ServerHello, not a ClientHello', Buffer.from([0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]), 'invalid'],
    ['a hello claiming a body of 16 MiB', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0xff, 0xff, 0xff]), 'invalid'],
    ['a hello whose body is shorter than its fields', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0x03, 0x03, 0x00, 0x00]), 'invalid'],
    ['an alert record after a hello fragment', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x01, 0x00, 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), 'invalid'],
  ];
  for (const [name, input, kind] of rows) test(name, () => assert.equal(parseClientHello(input).kind, kind));

  test('a server name that is not a host name is no host', () => {
    const name = Buffer.from('API.Example.com');
    const at = withSni.indexOf(name);
    assert.ok(at > 0);
    const bad = Buffer.from(withSni);
    bad.write('api/example.com', at, 'latin1');
    assert.deepEqual(parseClientHello(bad), { kind: 'hello', sni: undefined });
  });

  test('an extensions length past the end is invalid', () => {
    const bad = Buffer.from(withSni);
    // The extensions block starts after version, random, session id, ciphers, compression.
    let at = 5 + 4 + 2 + 32;
    at += 1 + bad[at]!;
    at += 2 + bad.readUInt16BE(at);
    at += 1 + bad[at]!;
    bad.writeUInt16BE(0xffff, at);
    assert.equal(parseClientHello(bad).kind, 'invalid');
  });

  test('random mutations never throw', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(withSni);
      for (let k = 0; k < 1 + rand(4); k++) b[5 + rand(b.length - 5)] = rand(256);
      const got = parseClientHello(b.subarray(0, rand(b.length + 1)));
      assert.ok(['incomplete', 'invalid', 'hello', 'not-tls'].includes(got.kind));
    }
  });

  test('looksLikeTls decides on the first two bytes', () => {
    assert.equal(looksLikeTls(Buffer.from([0x16])), true);
    assert.equal(looksLikeTls(Buffer.from([0x16, 0x03])), true);
    assert.equal(looksLikeTls(Buffer.from([0x16, 0x04])), false);
    assert.equal(looksLikeTls(Buffer.from('G')), false);
  });
});

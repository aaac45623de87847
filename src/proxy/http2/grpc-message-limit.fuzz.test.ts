/**
 * The gRPC length-prefix reader against a reference that sees the whole body at once: whatever the messages and
 * however the body is split into DATA frames (down to one byte each), the first message over the limit is found at
 * its prefix, what precedes it is passed, and no message within the limit is refused; the count of messages is the
 * reference's (those before the refused one, or all of them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns } from '../../../test/support/fuzz.js';
import { GrpcMessageLimit } from './grpc-message-limit.js';

const LIMIT = 64;

/** A message: its declared length, and how many payload bytes really follow (a lying prefix sends fewer). */
const message = fc.record({ flag: fc.integer({ min: 0, max: 255 }), length: fc.oneof(fc.integer({ min: 0, max: 2 * LIMIT }), fc.constantFrom(LIMIT, LIMIT + 1, 0xffffffff, 0x80000000)) });

function encode(msgs: readonly { flag: number; length: number }[]): { body: Buffer; refusedAt: number; count: number } {
  const parts: Buffer[] = [];
  let offset = 0;
  let refusedAt = -1;
  let count = 0;
  for (const m of msgs) {
    const prefix = Buffer.alloc(5);
    prefix[0] = m.flag;
    prefix.writeUInt32BE(m.length, 1);
    parts.push(prefix);
    if (m.length > LIMIT) {
      refusedAt = offset;
      break;
    }
    parts.push(Buffer.alloc(m.length, 0xab));
    offset += 5 + m.length;
    count++;
  }
  return { body: Buffer.concat(parts), refusedAt, count };
}

/** Cut points in [0, length]: the DATA frames. */
function split(body: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, body.length]) {
    out.push(body.subarray(prev, c));
    prev = c;
  }
  return out;
}

test('the first oversize message is found at its prefix however the body is split', () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
      const { body, refusedAt, count } = encode(msgs);
      const parser = new GrpcMessageLimit(LIMIT);
      let passed = 0;
      let refused = false;
      for (const frame of split(body, cuts)) {
        const r = parser.feed(frame);
        if (r >= 0) {
          passed += r;
          refused = true;
          break;
        }
        passed += frame.length;
      }
      if (refusedAt < 0) {
        assert.equal(refused, false);
        assert.equal(parser.oversize, -1);
      } else {
        assert.equal(refused, true);
        assert.ok(parser.oversize > LIMIT);
        // Everything before the refused prefix passed; at most the prefix's own earlier bytes went with it.
        assert.ok(passed >= refusedAt && passed <= refusedAt + 4, `passed ${passed}, prefix at ${refusedAt}`);
      }
      assert.equal(parser.messages, count);
    }),
    fuzzRuns(2000),
  );
});

test('one byte at a time reads the same as the whole body', () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 8 }), (msgs) => {
      const { body } = encode(msgs);
      const whole = new GrpcMessageLimit(LIMIT);
      whole.feed(body);
      const bytewise = new GrpcMessageLimit(LIMIT);
      for (let i = 0; i < body.length && bytewise.oversize < 0; i++) bytewise.feed(body.subarray(i, i + 1));
      assert.equal(bytewise.oversize, whole.oversize);
      assert.equal(bytewise.messages, whole.messages);
    }),
    fuzzRuns(1000),
  );
});

test('a message of exactly the limit passes; one byte more is refused; after a refusal nothing more is read', () => {
  const p = new GrpcMessageLimit(10);
  assert.equal(p.feed(Buffer.from([0, 0, 0, 0, 10, ...new Array(10).fill(1)])), -1);
  assert.equal(p.feed(Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 11])), 5);
  assert.equal(p.oversize, 11);
  assert.equal(p.feed(Buffer.from([0, 0, 0, 0, 1, 0])), 0);
  assert.equal(p.messages, 2, 'the 10-byte message and the empty one; not the refused one');
  // A 4 GiB - 1 claim with three bytes behind it: refused at once.
  const liar = new GrpcMessageLimit(4 * 1024 * 1024);
  assert.equal(liar.feed(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])), 0);
  assert.equal(liar.oversize, 0xffffffff);
});

/** bench/memory-sampler.ts reads the brk heap's resident pages from the page map: the same figure smaps gives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { heapRange, presentPages, takeSample } from '../bench/memory-sampler.js';

test('the [heap] line of maps gives its range; other mappings and a missing heap give none', () => {
  const maps = [
    '55d0c2a00000-55d0c2a21000 r--p 00000000 08:01 1234 /usr/bin/node',
    '55d0c4e6b000-55d0c8f2a000 rw-p 00000000 00:00 0                          [heap]',
    '7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 ',
  ].join('\n');
  assert.deepEqual(heapRange(maps), { start: 0x55d0c4e6b000, end: 0x55d0c8f2a000 });
  assert.equal(heapRange('7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 [stack]\n'), undefined);
  assert.equal(heapRange('55d0c4e6b000-55d0c8f2a000 rw-p 00000000 00:00 0 /tmp/[heap]x\n'), undefined);
});

test('a page counts as present by bit 63 of its entry alone', () => {
  const entries = Buffer.alloc(5 * 8);
  entries.writeBigUInt64LE(1n << 63n, 0); // present
  entries.writeBigUInt64LE((1n << 63n) | 0x1234n, 8); // present, with a frame number
  entries.writeBigUInt64LE(1n << 62n, 16); // swapped
  entries.writeBigUInt64LE(0x7fff_ffff_ffff_ffffn, 24); // every bit but 63
  assert.equal(presentPages(entries), 2);
});

test("this process's brk heap, read from the page map, matches smaps", () => {
  const smaps = fs.readFileSync('/proc/self/smaps', 'utf8');
  const at = smaps.indexOf(' [heap]\n');
  const fromSmaps = at < 0 ? 0 : Number(/\nRss:\s+(\d+) kB/.exec(smaps.slice(at, at + 400))?.[1]) * 1024;
  const sample = takeSample();
  // The heap may grow between the two reads; it does not move by a tenth.
  assert.ok(Math.abs(sample.brk - fromSmaps) <= Math.max(fromSmaps / 10, 64 * 1024), `page map ${sample.brk}, smaps ${fromSmaps}`);
  assert.ok(sample.anon > 0 && sample.rss > 0);
});

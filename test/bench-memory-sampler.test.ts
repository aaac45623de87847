/** bench/memory-sampler.ts reads the brk heap's resident pages from the page map: the same figure smaps gives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { brkResident, heapRange, presentPages, takeSample } from '../bench/memory-sampler.js';

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

/** The resident bytes smaps gives for the [heap] range. */
function smapsHeapRss(): number {
  const smaps = fs.readFileSync('/proc/self/smaps', 'utf8');
  const at = smaps.indexOf(' [heap]\n');
  return at < 0 ? 0 : Number(/\nRss:\s+(\d+) kB/.exec(smaps.slice(at, at + 400))?.[1]) * 1024;
}

test("this process's brk heap, read from the page map, matches smaps", () => {
  // Reading smaps (hundreds of KB of text) itself allocates and frees, so the heap can grow or be trimmed between
  // two reads: the page map's figure is compared with smaps read just before and just after it, in a round where
  // those two agree, and otherwise with the range they span.
  const slack = 256 * 1024;
  let last = { before: 0, pagemap: 0, after: 0 };
  for (let round = 0; round < 10; round++) {
    const before = smapsHeapRss();
    const pagemap = brkResident();
    const after = smapsHeapRss();
    last = { before, pagemap, after };
    if (Math.abs(before - after) <= 64 * 1024) break;
  }
  const { before, pagemap, after } = last;
  assert.ok(pagemap >= Math.min(before, after) - slack && pagemap <= Math.max(before, after) + slack, `page map ${pagemap}, smaps ${before} before and ${after} after`);
  const sample = takeSample();
  assert.ok(sample.anon > 0 && sample.rss > 0 && sample.brk > 0);
});

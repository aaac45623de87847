import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../errors.js';
import { LineDecoder } from './protocol.js';

function decodeChunks(chunks: Uint8Array[], maxLineBytes = 1024): string[] {
  const lines: string[] = [];
  const decoder = new LineDecoder((line) => lines.push(line), maxLineBytes);
  for (const chunk of chunks) decoder.push(chunk);
  return lines;
}

function refusal(err: unknown, message: RegExp): boolean {
  assert.ok(isWeftError(err, 'PUSH_FRAME_INVALID'), String(err));
  assert.match(err.message, message);
  return true;
}

describe('LineDecoder', () => {
  // 2-byte é, 3-byte € and 日, 4-byte 😀 (a surrogate pair in JavaScript).
  const message = JSON.stringify({ type: 'nack', version: 'v1', reason: 'é€日😀 naïve' });
  const bytes = Buffer.from(`${message}\n`);

  test('a multi-byte character split at every byte offset decodes exactly', () => {
    for (let at = 0; at <= bytes.length; at++) {
      assert.deepEqual(decodeChunks([bytes.subarray(0, at), bytes.subarray(at)]), [message], `split at byte ${at}`);
    }
  });

  test('a message arriving one byte at a time decodes exactly', () => {
    const oneByOne = Array.from(bytes, (b) => Uint8Array.of(b));
    assert.deepEqual(decodeChunks(oneByOne), [message]);
  });

  test('several lines in one chunk, blank lines skipped, a partial line kept for the next chunk', () => {
    const lines = decodeChunks([Buffer.from('{"a":1}\n\n  \n{"b":"日'), Buffer.from('本"}\n{"c"')]);
    assert.deepEqual(lines, ['{"a":1}', '{"b":"日本"}']);
  });

  test('a line of exactly the limit is read; one byte more is refused before its newline arrives', () => {
    assert.deepEqual(decodeChunks([Buffer.from(`${'x'.repeat(16)}\n`)], 16), ['x'.repeat(16)]);
    const decoder = new LineDecoder(() => assert.fail('no line expected'), 16);
    decoder.push(Buffer.from('x'.repeat(10)));
    assert.throws(() => decoder.push(Buffer.from('x'.repeat(7))), (err) => refusal(err, /longer than 16 bytes/));
  });

  test('the limit counts bytes, not characters', () => {
    // Six 3-byte characters are 18 bytes: over a 16-byte limit though only six characters long.
    assert.throws(() => decodeChunks([Buffer.from('€'.repeat(6))], 16), (err) => refusal(err, /longer than 16 bytes/));
  });

  test('a line that is not UTF-8 is refused, not read with replacement characters', () => {
    assert.throws(() => decodeChunks([Uint8Array.of(0x7b, 0xff, 0x7d, 0x0a)]), (err) => refusal(err, /not valid UTF-8/));
    // A character cut off by the newline itself.
    assert.throws(() => decodeChunks([Uint8Array.of(0xe2, 0x82, 0x0a)]), (err) => refusal(err, /not valid UTF-8/));
  });
});

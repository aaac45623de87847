/**
 * The pieces of the HTTP/2 and gRPC bench that need no servers: the gRPC request body h2load sends (decoded by the
 * echo service's own protobuf deserialiser), percentiles from h2load's per-request log, and command lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sayRequestFrame } from '../bench/grpc-body.js';
import { latencyFromLog, parseLogLine, percentiles } from '../bench/h2load-log.js';
import { commandLine } from '../bench/load-tools.js';
import { echoService } from '../examples/grpc-echo/echo-server.js';

test('the Say request frame is one uncompressed length-prefixed EchoRequest, for short and multi-byte-length messages', () => {
  const say = echoService().service['Say']!;
  for (const [message, headerBytes] of [
    ['', 2],
    ['ping', 2],
    ['x'.repeat(127), 2],
    ['x'.repeat(128), 3],
    ['é'.repeat(100), 3],
    ['x'.repeat(20_000), 4],
  ] as const) {
    const frame = sayRequestFrame(message);
    assert.equal(frame.readUInt8(0), 0, 'not compressed');
    assert.equal(frame.readUInt32BE(1), frame.length - 5, 'length prefix');
    assert.equal(frame.length - 5, headerBytes + Buffer.byteLength(message), 'tag, varint length, text');
    const decoded = say.requestDeserialize(frame.subarray(5)) as { message: string; count: number };
    assert.equal(decoded.message, message);
    assert.equal(decoded.count, 0);
  }
});

test('percentiles are nearest-rank over the logged latencies, in ms', async () => {
  const values = Float64Array.from({ length: 1000 }, (_, i) => (1000 - i) * 1000); // 1..1000 ms, unsorted
  assert.deepEqual(percentiles(values), { p50: 500, p90: 900, p99: 990 });
  assert.deepEqual(percentiles(Float64Array.of(7000)), { p50: 7, p90: 7, p99: 7 });

  assert.deepEqual(parseLogLine('1733526000000000\t200\t1234'), { startUs: 1733526000000000, status: 200, latencyUs: 1234 });
  assert.equal(parseLogLine(''), undefined);
  assert.equal(parseLogLine('garbage'), undefined);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-h2load-log-'));
  try {
    const file = path.join(dir, 'log');
    // More lines than the first buffer holds, so it grows; a torn last line is skipped.
    const lines = Array.from({ length: 70_000 }, (_, i) => `${1_700_000_000_000_000 + i}\t200\t${(i % 100) + 1}000`);
    fs.writeFileSync(file, `${lines.join('\n')}\n1700000000070000\t20`);
    assert.deepEqual(await latencyFromLog(file), { p50: 50, p90: 90, p99: 99 });
    fs.writeFileSync(file, '');
    assert.equal(await latencyFromLog(file), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('command lines quote the arguments a shell would split', () => {
  assert.equal(commandLine('h2load', ['-c4', '-H', ':authority: a:1', '-H', "x: it's"]), `h2load -c4 -H ':authority: a:1' -H 'x: it'\\''s'`);
});

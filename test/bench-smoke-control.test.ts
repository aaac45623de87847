/**
 * The control plane's half of the bench, shortened so that it cannot rot: CSR signing, `weft up examples/bookinfo`
 * and a small scale run must each produce figures (the data plane's half is test/bench-smoke.test.ts).
 * No figure is compared with a threshold; only that each exists and is a number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench } from '../bench/run-bench.js';
import { renderResults } from '../bench/report.js';

test('bench smoke run, control plane: CSR signing, bookinfo and the scale run produce figures', { timeout: 170_000 }, async () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-smoke-control-'));
  try {
    const r = await runBench({ mode: 'smoke', workDir, command: 'test/bench-smoke-control.test.ts', log: () => undefined, only: 'control-plane' });
    const positive = (what: string, n: number | undefined): void => assert.ok(typeof n === 'number' && Number.isFinite(n) && n > 0, `${what} = ${String(n)}`);

    assert.ok(!('error' in r.csr), 'CSR signing ran');
    positive('CSRs per second', r.csr.perSecond);
    assert.ok(!('error' in r.bookinfo), `bookinfo: ${'error' in r.bookinfo ? r.bookinfo.error : ''}`);
    positive('bookinfo first product page ms', r.bookinfo.firstProductPageMs);
    assert.equal(r.scale.length, 1);
    const scale = r.scale[0]!;
    assert.ok(!('error' in scale), `scale: ${'error' in scale ? scale.error : ''}`);
    assert.equal(scale.failure, undefined, scale.failure);
    assert.equal(scale.acked, scale.proxies);
    positive('scale ACK P99 ms', scale.ackMs?.p99);
    positive('control plane RSS', scale.controlRssPeakMiB);

    assert.ok(renderResults(r, '').includes('## Control plane'), 'report has ## Control plane');
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

/**
 * The bench, shortened to a few seconds a scenario, so that it cannot rot: every data-plane path must produce
 * figures (the control plane's scenarios are in test/bench-smoke-control.test.ts, HTTP/2 and gRPC in
 * test/bench-h2-grpc-smoke.test.ts, to keep each file short).
 * No figure is compared with a threshold; only that each exists, is a number, and the paths answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runBench } from '../bench/run-bench.js';
import { renderResults } from '../bench/report.js';
import { REPO_ROOT } from '../bench/weft-mesh.js';

function toolsMissing(): string | undefined {
  try {
    execFileSync('bash', [path.join(REPO_ROOT, 'bench', 'install-tools.sh')], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `bench tools (wrk, h2load, nginx) are missing and cannot be installed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`;
  }
}

const missing = toolsMissing();

test('bench smoke run, data plane: every path produces figures', { skip: missing, timeout: 170_000 }, async () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-smoke-'));
  try {
    const r = await runBench({ mode: 'smoke', workDir, command: 'test/bench-smoke.test.ts', log: () => undefined, skipH2Grpc: true, only: 'data-plane' });
    const positive = (what: string, n: number | undefined): void => assert.ok(typeof n === 'number' && Number.isFinite(n) && n > 0, `${what} = ${String(n)}`);

    assert.ok(!('error' in r.dataPlane), `data plane: ${'error' in r.dataPlane ? r.dataPlane.error : ''}`);
    assert.deepEqual(r.dataPlane.paths.map((p) => p.name), ['direct', 'weft', 'nginx']);
    for (const p of r.dataPlane.paths) {
      positive(`${p.name} HTTP/1.1 rps`, p.http1.rps);
      assert.equal(p.http1.errors, 0, `${p.name}: wrk saw errors\n${p.http1.raw}`);
      if ('unsupported' in p.http2) assert.notEqual(p.http2.unsupported, '');
      else positive(`${p.name} HTTP/2 rps`, p.http2.rps);
      assert.ok(p.latency.counted > 0 && p.latency.counted < p.latency.sent, `${p.name}: measured requests after the warm-up`);
      assert.equal(p.latency.errors, 0, `${p.name}: open-loop errors`);
      positive(`${p.name} open-loop P99`, p.latency.latencyMs.p99);
      assert.equal(p.sidecars.length, p.name === 'direct' ? 0 : 2);
      for (const s of p.sidecars) {
        positive(`${p.name} ${s.role} RSS idle`, s.rssIdleMiB);
        positive(`${p.name} ${s.role} RSS under load`, s.rssLoadMiB);
        assert.ok(Number.isFinite(s.cpuPer1000AtMax) && s.cpuPer1000AtMax >= 0);
        assert.ok(Number.isFinite(s.cpuPer1000AtRate) && s.cpuPer1000AtRate >= 0);
      }
    }
    // A profile needs 127.0.0.1:9229, which a concurrent run may hold; that is the only reason to go without one.
    if (r.dataPlane.profileError === undefined) assert.deepEqual(r.dataPlane.profiles.map((p) => p.role), ['client', 'server']);
    else assert.match(r.dataPlane.profileError, /9229/);
    for (const p of r.dataPlane.profiles) assert.ok(p.top.length > 0, `${p.role} profile has samples`);

    const md = renderResults(r, '');
    for (const heading of ['## Data plane', '### Maximum throughput', '### Latency at a fixed offered rate', '### CPU and memory per sidecar']) {
      assert.ok(md.includes(heading), `report has ${heading}`);
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

/**
 * The HTTP/2 and gRPC bench scenario with a few hundred requests a run, so that it cannot rot: every path answers
 * (h2c through weft's sidecars with HTTP/2 over mTLS between them, through the nginx pair, and direct), every
 * figure exists and the report and RESULTS.md section render. No figure is compared with a threshold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runH2Grpc } from '../bench/h2-grpc.js';
import { H2GRPC_SETTINGS } from '../bench/h2-grpc-settings.js';
import { renderH2Grpc, replaceSection } from '../bench/h2-grpc-report.js';
import { REPO_ROOT } from '../bench/weft-mesh.js';
import { cleanup } from './support/cleanup.js';

function toolsMissing(): string | undefined {
  try {
    execFileSync('bash', [path.join(REPO_ROOT, 'bench', 'install-tools.sh')], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `bench tools (h2load, nginx) are missing and cannot be installed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`;
  }
}

const missing = toolsMissing();
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-h2-smoke-'));
cleanup('bench-h2-grpc-smoke', () => fs.rmSync(workDir, { recursive: true, force: true }));

test('HTTP/2 and gRPC bench: every path answers and every figure exists', { skip: missing, timeout: 120_000 }, async () => {
  const settings = H2GRPC_SETTINGS.smoke;
  const r = await runH2Grpc({ ...settings, workDir, log: () => undefined });
  const positive = (what: string, n: number | undefined): void => assert.ok(typeof n === 'number' && Number.isFinite(n) && n > 0, `${what} = ${String(n)}`);
  const names = ['direct', 'weft', 'nginx'];
  assert.deepEqual(r.http2.map((p) => p.name), names);
  assert.deepEqual(r.grpc.map((p) => p.name), names);
  const runs = [...r.http2.map((p) => ({ what: `HTTP/2 ${p.name}`, m: p.max })), ...r.grpc.flatMap((p) => [{ what: `gRPC max ${p.name}`, m: p.max }, { what: `gRPC fixed ${p.name}`, m: p.fixed }])];
  for (const { what, m } of runs) {
    assert.equal(m.run.requests, settings.requests, `${what}: every request done\n${m.run.raw}`);
    assert.equal(m.run.errors, 0, `${what}: h2load saw errors\n${m.run.raw}`);
    positive(`${what} rps`, m.run.rps);
    positive(`${what} P50`, m.run.latencyMs?.p50);
    assert.ok((m.run.latencyMs?.p99 ?? 0) >= (m.run.latencyMs?.p50 ?? Infinity), `${what}: P99 ≥ P50`);
    assert.equal(m.sidecars.length, what.endsWith('direct') ? 0 : 2);
    for (const s of m.sidecars) assert.ok(Number.isFinite(s.cpuPer1000) && s.cpuPer1000 >= 0, `${what} ${s.role} CPU per 1000`);
  }
  for (const p of r.grpc) {
    assert.equal(p.probe.status, 200, p.name);
    assert.equal(p.probe.grpcStatus, '0', `${p.name}: ${p.probe.grpcMessage ?? ''}`);
    positive(`${p.name} gRPC reply bytes`, p.probe.bodyBytes);
  }
  // The weft path's commands name the services by :authority; the scratch directory is out of them.
  const weftCommands = [r.http2[1]!.max.run.command, r.grpc[1]!.max.run.command];
  assert.match(weftCommands[0]!, /':authority: upstream-h2:8000'/);
  assert.match(weftCommands[1]!, /':authority: grpc-echo:50051'/);
  for (const c of weftCommands) assert.ok(!c.includes(workDir), c);

  const section = renderH2Grpc(r);
  for (const heading of ['## HTTP/2 and gRPC through the sidecars', '### HTTP/2 (h2load, closed loop)', '### gRPC unary calls', 'Added over direct']) assert.ok(section.includes(heading), heading);
  const before = '# results\n\n## Data plane\n\nfigures\n\n## Control plane\n\nmore\n';
  const once = replaceSection(before, section);
  assert.ok(once.endsWith(`${section}\n`), 'appended at the end');
  const twice = replaceSection(`${once}\n## Faults\n\nlater\n`, section);
  assert.equal(twice.split('## HTTP/2 and gRPC through the sidecars').length, 2, 'replaced, not appended twice');
  assert.ok(twice.includes('## Control plane\n\nmore') && twice.endsWith('## Faults\n\nlater\n'), 'the sections around it stay');
});

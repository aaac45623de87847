/**
 * `node dist/bench/h2-grpc-main.js [--smoke] [--out FILE]`: the HTTP/2 and gRPC scenario alone (h2-grpc.ts). Its
 * section replaces the one a previous run left in FILE (default bench/RESULTS.md) or is appended; the figures go
 * beside it in FILE with `-h2-grpc.json` for `.md`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeMachine } from './machine.js';
import { runH2Grpc } from './h2-grpc.js';
import { H2GRPC_SETTINGS } from './h2-grpc-settings.js';
import { renderH2Grpc, replaceSection } from './h2-grpc-report.js';
import { REPO_ROOT } from './weft-mesh.js';

const args = process.argv.slice(2);
const mode = args.includes('--smoke') ? 'smoke' : 'full';
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? (args[outIndex + 1] ?? '') : path.join(REPO_ROOT, 'bench', 'RESULTS.md');
const log = (line: string): void => console.error(`[${new Date().toISOString()}] ${line}`);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-h2-'));
try {
  const machine = describeMachine();
  const loadAverage = os.loadavg();
  const settings = H2GRPC_SETTINGS[mode];
  const results = await runH2Grpc({ ...settings, workDir, log });
  const header = { machine, command: `node dist/bench/h2-grpc-main.js${mode === 'smoke' ? ' --smoke' : ''}`, loadAverage, loadAverageEnd: os.loadavg(), settings: { ...settings } };
  fs.writeFileSync(out.replace(/\.md$/, '-h2-grpc.json'), `${JSON.stringify({ ...header, results }, (k, v: unknown) => (k === 'raw' ? undefined : v), 2)}\n`);
  const section = renderH2Grpc(results, header);
  fs.writeFileSync(out, replaceSection(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '', section));
  process.stdout.write(`${section}\n`);
  log(`wrote ${out}`);
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
}

/**
 * `node dist/bench/h2-grpc-main.js [--smoke] [--rate CALLS_PER_SECOND] [--out FILE]`: the HTTP/2 and gRPC scenario
 * alone (h2-grpc.ts). Its section, with bench/h2-grpc-limits.md (the analysis) under it, replaces the one a previous
 * run left in FILE (default bench/RESULTS.md) or is appended; the figures go to FILE with `-h2-grpc.json` for `.md`.
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
  const rateIndex = args.indexOf('--rate');
  const rate = rateIndex >= 0 ? Number(args[rateIndex + 1]) : undefined;
  if (rate !== undefined && !(Number.isInteger(rate) && rate > 0)) throw new RangeError(`--rate takes a positive integer, got ${String(args[rateIndex + 1])}`);
  const settings = { ...H2GRPC_SETTINGS[mode], ...(rate === undefined ? {} : { grpcRate: rate }) };
  const results = await runH2Grpc({ ...settings, workDir, log });
  const header = { machine, command: ['node dist/bench/h2-grpc-main.js', ...args.filter((a, i) => a !== '--out' && args[i - 1] !== '--out')].join(' '), loadAverage, loadAverageEnd: os.loadavg(), settings: { ...settings } };
  fs.writeFileSync(out.replace(/\.md$/, '-h2-grpc.json'), `${JSON.stringify({ ...header, results }, (k, v: unknown) => (k === 'raw' ? undefined : v), 2)}\n`);
  const notesFile = path.join(REPO_ROOT, 'bench', 'h2-grpc-limits.md');
  const notes = fs.existsSync(notesFile) ? `\n\n${fs.readFileSync(notesFile, 'utf8').trim()}` : '';
  const section = `${renderH2Grpc(results, header)}${notes}`;
  fs.writeFileSync(out, replaceSection(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '', section));
  process.stdout.write(`${section}\n`);
  log(`wrote ${out}`);
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
}
